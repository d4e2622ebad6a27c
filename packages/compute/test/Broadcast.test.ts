import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { ComputePool } from "effect-compute"
import { ExitProcess, GetTag, SetTag, Where } from "./fixtures/tasks.ts"
import { poll, reasonOf } from "./helpers.ts"

const entry = new URL("./fixtures/worker.ts", import.meta.url)

/** Waits until `n` workers are ready (a replacement is live as soon as it is spawned, ready once started). */
const readyWorkers = (n: number) =>
  poll(Effect.map(ComputePool.metrics, (metrics) => metrics.worker_utilization.length === n))

describe("broadcast", () => {
  it.live("runs a task once on every live worker and returns each worker's result", () =>
    Effect.gen(function*() {
      const ids = yield* ComputePool.broadcast(Where, undefined)
      assert.strictEqual(ids.length, 3)
      assert.strictEqual(new Set(ids).size, 3, "each worker ran it once")
      const stats = yield* ComputePool.stats
      assert.strictEqual(stats.submitted, 3)
      assert.strictEqual(stats.succeeded, 3)
    }).pipe(Effect.provide(ComputePool.layer({ entry, threads: 3 }))))

  it.live("with keep, a replacement worker gets it before its first task; without, it does not", () =>
    Effect.gen(function*() {
      yield* ComputePool.broadcast(SetTag, "model v1")
      assert.deepStrictEqual(yield* ComputePool.broadcast(GetTag, undefined), ["model v1", "model v1"])
      // A worker dies: its replacement starts blank.
      assert.strictEqual(reasonOf(yield* Effect.exit(ComputePool.execute(ExitProcess, 1)))._tag, "WorkerCrashed")
      yield* readyWorkers(2)
      assert.sameMembers(yield* ComputePool.broadcast(GetTag, undefined), ["model v1", ""])

      // Kept: every worker now, and every later one before it takes a task.
      yield* ComputePool.broadcast(SetTag, "model v2", { keep: true })
      assert.strictEqual(reasonOf(yield* Effect.exit(ComputePool.execute(ExitProcess, 1)))._tag, "WorkerCrashed")
      yield* readyWorkers(2)
      assert.deepStrictEqual(yield* ComputePool.broadcast(GetTag, undefined), ["model v2", "model v2"])
      // The first task a replacement runs already sees the kept state.
      assert.strictEqual(reasonOf(yield* Effect.exit(ComputePool.execute(ExitProcess, 1)))._tag, "WorkerCrashed")
      assert.strictEqual(yield* ComputePool.execute(GetTag, undefined), "model v2")
    }).pipe(Effect.provide(ComputePool.layer({ entry, threads: 2, quarantine: false }))))

  it.effect("on layerInline it runs once, on the calling thread", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* ComputePool.broadcast(Where, undefined), [-1])
    }).pipe(Effect.provide(ComputePool.layerInline({ tasks: [Where] }))))
})
