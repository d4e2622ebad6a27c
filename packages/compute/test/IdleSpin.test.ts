import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Worker } from "node:worker_threads"
import { Dispatcher } from "../src/internal/main/dispatcher.ts"
import * as Thread from "../src/internal/main/thread.ts"
import type { WorkerSlot } from "../src/internal/main/workerSlot.ts"
import * as Protocol from "../src/internal/wire/protocol.ts"
import type { Settlement } from "../src/internal/wire/settlement.ts"
import { dispatcherOptions } from "./fixtures/dispatcherOptions.ts"
import { BusyFor, Where } from "./fixtures/tasks.ts"

const entry = new URL("./fixtures/worker.ts", import.meta.url)

/** Two real workers whose idle spin lasts a second, on a machine of `cores` cores as far as the pool knows. */
const twoWorkers = (cores: number) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const dispatcher = new Dispatcher(
        dispatcherOptions(2, { idleSpinMicros: 1_000_000, cores }),
        () => Thread.fromNodeWorker(new Worker(entry)),
        Thread.nodeClock
      )
      await dispatcher.start()
      return dispatcher
    }),
    (dispatcher) => Effect.promise(() => dispatcher.close())
  )

const run = (dispatcher: Dispatcher, task: typeof BusyFor | typeof Where, payload: unknown) =>
  Effect.callback<Settlement>((resume) => {
    dispatcher.submit(task, Protocol.Kind.Single, payload, (settlement) => resume(Effect.succeed(settlement)))
  })

const workersOf = (dispatcher: Dispatcher) =>
  (dispatcher as unknown as { workers: { all: Array<WorkerSlot> } }).workers.all

/**
 * One worker runs a 300 ms loop; the other runs a no-op and then, idle, may spin for a second. The order of two events
 * says whether it did: it says it is hungry (it sleeps) before the loop ends only if it did not spin.
 */
const idleWorkerSpins = (cores: number) =>
  Effect.gen(function*() {
    const dispatcher = yield* twoWorkers(cores)
    // The loop runs on one worker: it is awake, as its peer sees in its region, until the loop ends.
    const loop: { ended?: Settlement } = {}
    const busy = dispatcher.submit(BusyFor, Protocol.Kind.Single, 300, (settlement) => loop.ended = settlement)!
    while (busy.worker === undefined || !busy.worker.hasStarted(busy)) yield* Effect.sleep("1 millis")
    const looping = busy.worker
    const noop = yield* run(dispatcher, Where, undefined)
    assert.strictEqual(noop._tag, "Success")
    const idle = workersOf(dispatcher).find((worker) => worker !== looping)!
    assert.strictEqual((noop as { value: unknown }).value, idle.id, "the no-op ran on the worker that was free")
    let hungryFirst = false
    while (loop.ended === undefined) {
      if (idle.region.hungry) {
        hungryFirst = true
        break
      }
      yield* Effect.sleep("1 millis")
    }
    while (loop.ended === undefined) yield* Effect.sleep("1 millis")
    assert.deepInclude(loop.ended, { _tag: "Success" })
    return !hungryFirst
  }).pipe(Effect.scoped)

describe("the idle spin", () => {
  it.live("on 2 cores with a peer awake, a worker out of work does not spin: the main thread has the other core", () =>
    Effect.gen(function*() {
      assert.isFalse(yield* idleWorkerSpins(2))
    }))

  it.live("with a core free (3: the main thread's, the peer's, its own), it spins before it sleeps", () =>
    Effect.gen(function*() {
      assert.isTrue(yield* idleWorkerSpins(3))
    }))
})
