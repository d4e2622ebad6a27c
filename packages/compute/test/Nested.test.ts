import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber } from "effect"
import { ComputeError, ComputePool } from "effect-compute"
import { DeepCrash, DeepSpin, MergeSort, ParallelFib, StatsInside } from "./fixtures/tasks.ts"
import { poll, random, squashedOf } from "./helpers.ts"

const entry = new URL("./fixtures/worker.ts", import.meta.url)

for (const threads of [1, 2]) {
  describe(`nested parallelism on ${threads} thread(s)`, () => {
    const Pool = ComputePool.layer({ entry, threads, interruptGracePeriod: "30 seconds" })

    it.live("recursive parallel fib forks subtasks from inside workers and gets the right answer", () =>
      Effect.gen(function*() {
        // fib(18) forks down to n <= 10: a tree of subtasks 8 levels deep.
        assert.strictEqual(yield* ComputePool.execute(ParallelFib, 18), 2584)
        const stats = yield* ComputePool.stats
        assert.isAbove(stats.submitted, 50, "the subtasks went through the pool")
        assert.strictEqual(stats.activeTasks, 0)
        assert.strictEqual(stats.succeeded, stats.submitted)
      }).pipe(Effect.provide(Pool)))

    it.live("stats inside a task is a defect that says why, and the worker serves on", () =>
      Effect.gen(function*() {
        for (let i = 0; i < 2; i++) {
          const exit = yield* Effect.exit(ComputePool.execute(StatsInside, i))
          assert.isTrue(Exit.isFailure(exit) && Cause.hasDies(exit.cause), String(exit))
          assert.include(
            String((squashedOf(exit) as Error).message),
            "ComputePool.stats is only available on the main thread"
          )
        }
        assert.strictEqual(yield* ComputePool.execute(ParallelFib, 12), 144)
      }).pipe(Effect.provide(Pool)))

    it.live("recursive merge sort on the pool sorts", () =>
      Effect.gen(function*() {
        const next = random(7)
        const items = Array.from({ length: 5_000 }, () => Math.floor(next() * 1_000_000))
        const sorted = yield* ComputePool.execute(MergeSort, items)
        assert.deepStrictEqual(sorted, items.toSorted((a, b) => a - b))
      }).pipe(Effect.provide(Pool)))

    it.live("interrupting the root interrupts the whole tree", () =>
      Effect.gen(function*() {
        const root = yield* Effect.forkChild(ComputePool.execute(DeepSpin, 3))
        // The root and its three descendants are all in flight once the leaf spins.
        yield* poll(Effect.map(ComputePool.stats, (stats) => stats.activeTasks === 4))
        yield* Fiber.interrupt(root)
        const stats = yield* ComputePool.stats
        assert.strictEqual(stats.interrupted, 4)
        assert.strictEqual(stats.activeTasks, 0)
        assert.strictEqual(stats.workerRestarts, 0)
      }).pipe(Effect.provide(Pool)))

    it.live("a crash deep in the tree fails the root with WorkerCrashed", () =>
      Effect.gen(function*() {
        const exit = yield* Effect.exit(ComputePool.execute(DeepCrash, 3))
        assert.isTrue(Exit.isFailure(exit))
        const error = Cause.squash((exit as Exit.Failure<unknown, unknown>).cause)
        assert.isTrue(ComputeError.isComputeError(error), String(error))
        const reason = (error as ComputeError.ComputeError).reason
        assert.strictEqual(reason._tag, "WorkerCrashed")
        assert.strictEqual((reason as ComputeError.WorkerCrashed).exitCode, 9)
        yield* poll(Effect.map(ComputePool.stats, (stats) => stats.activeTasks === 0 && stats.liveWorkers === threads))
        assert.strictEqual(yield* ComputePool.execute(ParallelFib, 12), 144)
      }).pipe(Effect.provide(Pool)))
  })
}
