import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber } from "effect"
import { ComputePool } from "effect-compute"
import {
  Add,
  BusyFor,
  CountRun,
  ListenAfterInterrupt,
  ReadRuns,
  Sleep,
  SpinCooperative,
  SpinForever,
  WaitForAbort
} from "./fixtures/tasks.ts"
import { poll } from "./helpers.ts"

const entry = new URL("./fixtures/worker.ts", import.meta.url)

const activeAtLeast = (n: number) => poll(Effect.map(ComputePool.stats, (stats) => stats.activeTasks >= n))

describe("interruption", () => {
  it.live("interrupting an infinite loop terminates and replaces its worker; the next task completes", () =>
    Effect.gen(function*() {
      const started = new Int32Array(new SharedArrayBuffer(4))
      const fiber = yield* Effect.forkChild(ComputePool.execute(SpinForever, started as Int32Array<any>))
      // Wait until the loop runs (a task interrupted before it starts is simply taken back, no worker killed).
      yield* poll(Effect.sync(() => Atomics.load(started, 0) === 1))
      yield* Fiber.interrupt(fiber)
      const exit = yield* Fiber.await(fiber)
      assert.isTrue(Exit.hasInterrupts(exit))
      // The only worker was replaced; the next task runs on the new one.
      assert.strictEqual(yield* ComputePool.execute(Add, [20, 22]), 42)
      const stats = yield* ComputePool.stats
      assert.strictEqual(stats.workerRestarts, 1)
      assert.strictEqual(stats.interrupted, 1)
      assert.strictEqual(stats.activeTasks, 0)
      assert.strictEqual(stats.liveWorkers, 1)
    }).pipe(Effect.provide(ComputePool.layer({ entry, threads: 1, interruptGracePeriod: "100 millis" }))))

  it.live("a loop that checks isInterrupted stops by itself and keeps its worker", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.forkChild(ComputePool.execute(SpinCooperative, undefined))
      yield* activeAtLeast(1)
      yield* Fiber.interrupt(fiber)
      assert.strictEqual(yield* ComputePool.execute(Add, [1, 2]), 3)
      const stats = yield* ComputePool.stats
      assert.strictEqual(stats.workerRestarts, 0)
      assert.strictEqual(stats.interrupted, 1)
    }).pipe(Effect.provide(ComputePool.layer({ entry, threads: 1, interruptGracePeriod: "30 seconds" }))))

  it.live("interrupting many tasks on one busy worker at once stops each of them without killing it", () =>
    Effect.gen(function*() {
      // Five cooperative loops sent to one worker in one batch: one spins, four wait behind it in the worker.
      const fibers = yield* Effect.all(
        Array.from({ length: 5 }, () => Effect.forkChild(ComputePool.execute(SpinCooperative, undefined)))
      )
      yield* activeAtLeast(5)
      yield* Fiber.interruptAll(fibers)
      const stats = yield* ComputePool.stats
      assert.strictEqual(stats.interrupted, 5)
      assert.strictEqual(stats.workerRestarts, 0)
      assert.strictEqual(stats.activeTasks, 0)
      assert.strictEqual(yield* ComputePool.execute(Add, [2, 2]), 4)
    }).pipe(Effect.provide(ComputePool.layer({ entry, threads: 1, interruptGracePeriod: "30 seconds" }))))

  it.live("an Effect handler is interrupted inside the worker; a Promise handler sees its AbortSignal", () =>
    Effect.gen(function*() {
      const sleeping = yield* Effect.forkChild(ComputePool.execute(Sleep, 60_000))
      const waiting = yield* Effect.forkChild(ComputePool.execute(WaitForAbort, undefined))
      yield* activeAtLeast(2)
      yield* Fiber.interrupt(sleeping)
      yield* Fiber.interrupt(waiting)
      const stats = yield* ComputePool.stats
      assert.strictEqual(stats.workerRestarts, 0)
      assert.strictEqual(stats.interrupted, 2)
      assert.strictEqual(stats.activeTasks, 0)
    }).pipe(Effect.provide(ComputePool.layer({ entry, threads: 1, interruptGracePeriod: "30 seconds" }))))

  it.live("a Promise handler that reaches its signal only after the interruption was asked for still hears it", () =>
    Effect.gen(function*() {
      // The order a loaded worker can fall into: the worker has started the task (so the pool does not take it back
      // but marks it and sends Cancel), and the handler looks at its signal only after that. A signal already aborted
      // when first read fires no event for a listener added then: the task would wait out the grace period and cost
      // its worker. The grace period is long, so that only that would replace the worker.
      const started = new Int32Array(new SharedArrayBuffer(4))
      const fiber = yield* Effect.forkChild(ComputePool.execute(ListenAfterInterrupt, started as Int32Array<any>))
      yield* poll(Effect.sync(() => Atomics.load(started, 0) === 1))
      yield* Fiber.interrupt(fiber)
      assert.isTrue(Exit.hasInterrupts(yield* Fiber.await(fiber)))
      const stats = yield* ComputePool.stats
      assert.strictEqual(stats.workerRestarts, 0, "the handler heard its abort: no worker was terminated")
      assert.strictEqual(stats.interrupted, 1)
      assert.strictEqual(stats.activeTasks, 0)
      assert.strictEqual(yield* ComputePool.execute(Add, [3, 4]), 7)
    }).pipe(Effect.provide(ComputePool.layer({ entry, threads: 1, interruptGracePeriod: "20 seconds" }))))

  it.live("a queued task that is interrupted never runs", () =>
    Effect.gen(function*() {
      // One worker, one task at a time: the Sleep holds the worker while CountRun waits in the queue.
      const blocker = yield* Effect.forkChild(ComputePool.execute(Sleep, 300))
      yield* activeAtLeast(1)
      const queued = yield* Effect.forkChild(ComputePool.execute(CountRun, undefined))
      yield* poll(Effect.map(ComputePool.stats, (stats) => stats.queuedTasks === 1))
      yield* Fiber.interrupt(queued)
      assert.strictEqual(yield* Fiber.join(blocker), "slept")
      assert.strictEqual(yield* ComputePool.execute(ReadRuns, undefined), 0)
      assert.strictEqual(yield* ComputePool.execute(CountRun, undefined), 1)
    }).pipe(Effect.provide(ComputePool.layer({ entry, threads: 1, maxInFlightPerWorker: 1 }))))
})

describe("timeouts: Effect.timeout on a pool call interrupts its task", () => {
  it.live("a timed-out synchronous loop frees its worker: terminated after the grace period, and replaced", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(ComputePool.execute(SpinForever, undefined).pipe(Effect.timeout("50 millis")))
      assert.isTrue(Exit.isFailure(exit))
      assert.strictEqual(yield* ComputePool.execute(Add, [1, 1]), 2, "the next task runs: the worker was freed")
      const stats = yield* ComputePool.stats
      assert.strictEqual(stats.workerRestarts, 1)
      assert.strictEqual(stats.interrupted, 1)
      assert.strictEqual(stats.activeTasks, 0)
    }).pipe(Effect.provide(ComputePool.layer({ entry, threads: 1, interruptGracePeriod: "100 millis" }))))

  it.live("a task that timed out while still queued never runs", () =>
    Effect.gen(function*() {
      // The only worker is busy, one task at a time: the counted task waits in the queue and times out there.
      const busy = yield* Effect.forkChild(ComputePool.execute(BusyFor, 300))
      yield* activeAtLeast(1)
      const exit = yield* Effect.exit(ComputePool.execute(CountRun, undefined).pipe(Effect.timeout("50 millis")))
      assert.isTrue(Exit.isFailure(exit))
      assert.strictEqual(yield* Fiber.join(busy), "done")
      assert.strictEqual(yield* ComputePool.execute(ReadRuns, undefined), 0, "the timed-out task never ran")
      assert.strictEqual((yield* ComputePool.stats).interrupted, 1)
    }).pipe(Effect.provide(ComputePool.layer({ entry, threads: 1, maxInFlightPerWorker: 1 }))))
})
