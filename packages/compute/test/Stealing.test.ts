import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber } from "effect"
import { ComputePool } from "effect-compute"
import { ExitProcess, Fork, ForkInPlace, Leaf, ParallelFib } from "./fixtures/tasks.ts"
import { poll, reasonOf } from "./helpers.ts"

const entry = new URL("./fixtures/worker.ts", import.meta.url)

const leaf = (ms: number) => ({ ms, untilInterrupted: false, stubborn: false, crash: false })
const spinUntilInterrupted = { ...leaf(0), untilInterrupted: true }
const crash = { ...leaf(0), crash: true }

/** Every submitted task, subtasks included, has exactly one outcome, and none is left active. */
const assertBalanced = (stats: ComputePool.PoolStats) => {
  const ended = stats.succeeded + stats.failed + stats.defects + stats.interrupted + stats.crashed + stats.rejected
  assert.strictEqual(stats.submitted, ended, JSON.stringify(stats))
  assert.strictEqual(stats.activeTasks, 0, JSON.stringify(stats))
}

describe("work stealing between workers", () => {
  const Pool = ComputePool.layer({ entry, threads: 2, interruptGracePeriod: "30 seconds" })

  it.live("a task's subtasks run on its own worker and on the idle one, which steals them: each runs once", () =>
    Effect.gen(function*() {
      // Eight 20 ms leaves from one task: its own worker runs them newest first while the other steals the oldest.
      const where = yield* ComputePool.execute(Fork, Array.from({ length: 8 }, () => leaf(20)))
      assert.strictEqual(where.length, 8)
      assert.strictEqual(new Set(where).size, 2, `the leaves ran on workers ${where.join(", ")}`)
      const stats = yield* ComputePool.stats
      // The root and its eight leaves, counted once each, though the main thread dispatched only the root.
      assert.strictEqual(stats.submitted, 9)
      assert.strictEqual(stats.succeeded, 9)
      assertBalanced(stats)
    }).pipe(Effect.provide(Pool)))

  it.live("subtasks over shared memory write into the parent's array, wherever they run", () =>
    Effect.gen(function*() {
      // Shared memory is never copied into a steal slot: such a subtask runs here, or goes through the main thread.
      assert.strictEqual(yield* ComputePool.execute(ForkInPlace, 4_096), 2 * 4_096)
      assertBalanced(yield* ComputePool.stats)
    }).pipe(Effect.provide(Pool)))

  it.live("interrupting the root stops its subtasks wherever they run, a stolen one in a busy loop included", () =>
    Effect.gen(function*() {
      const root = yield* Effect.forkChild(ComputePool.execute(Fork, [spinUntilInterrupted, spinUntilInterrupted]))
      // The root and both leaves in flight: one spins on the root's worker, the other on the worker that stole it.
      yield* poll(Effect.map(ComputePool.stats, (stats) => stats.activeTasks === 3))
      yield* Fiber.interrupt(root)
      const stats = yield* ComputePool.stats
      assert.strictEqual(stats.interrupted, 3)
      assert.strictEqual(stats.workerRestarts, 0, "both leaves heard the interruption; no worker was killed")
      assertBalanced(stats)
    }).pipe(Effect.provide(Pool)))

  it.live("a worker that dies holding a stolen subtask fails its parent with WorkerCrashed, and is replaced", () =>
    Effect.gen(function*() {
      // The older leaf is the one the idle worker steals: it kills that worker while the root's own worker spins.
      const exit = yield* Effect.exit(ComputePool.execute(Fork, [crash, leaf(2_000)]))
      assert.isTrue(Exit.isFailure(exit))
      const reason = reasonOf(exit)
      assert.strictEqual(reason._tag, "WorkerCrashed")
      assert.include(reason.message, "the worker that took it died", reason.message)
      yield* poll(Effect.map(ComputePool.stats, (stats) => stats.activeTasks === 0 && stats.liveWorkers === 2))
      const stats = yield* ComputePool.stats
      assert.strictEqual(stats.crashed, 1, "the stolen leaf")
      assert.strictEqual(stats.workerRestarts, 1)
      assertBalanced(stats)
      // The replacement joins in: a tree of subtasks still comes out right.
      assert.strictEqual(yield* ComputePool.execute(ParallelFib, 16), 987)
      const before = yield* ComputePool.stats
      assertBalanced(before)
      // Workers die now, maybe the one that counted the stolen leaf's crash: what a dead worker's region counted
      // stays counted, once. (The first part to crash interrupts the other, which may not have run.)
      yield* Effect.exit(ComputePool.broadcast(ExitProcess, 3))
      yield* poll(Effect.map(ComputePool.stats, (stats) => stats.liveWorkers === 2 && stats.activeTasks === 0))
      const after = yield* ComputePool.stats
      assert.strictEqual(after.crashed + after.interrupted, before.crashed + before.interrupted + 2)
      assert.isAtLeast(after.workerRestarts, 2)
      assertBalanced(after)
    }).pipe(Effect.provide(Pool)))

  it.live("a thief still running a dead worker's subtask in a loop that ignores interruption is terminated after the grace", () =>
    Effect.gen(function*() {
      // The older leaf, stolen, spins for a minute hearing nothing; the root's own worker dies 300 ms in.
      const exit = yield* Effect.exit(
        ComputePool.execute(Fork, [{ ...leaf(60_000), stubborn: true }, { ...leaf(300), crash: true }])
      )
      assert.strictEqual(reasonOf(exit)._tag, "WorkerCrashed")
      // The thief is terminated once the grace period (200 ms) is over, not a minute later.
      yield* poll(Effect.map(ComputePool.stats, (stats) => stats.workerRestarts === 2 && stats.liveWorkers === 2))
      assert.strictEqual(yield* ComputePool.execute(ParallelFib, 12), 144)
      yield* poll(Effect.map(ComputePool.stats, (stats) => stats.activeTasks === 0))
      assertBalanced(yield* ComputePool.stats)
    }).pipe(Effect.provide(ComputePool.layer({ entry, threads: 2, interruptGracePeriod: "200 millis" }))))

  it.live("a thief recycled right after answering a stolen subtask leaves that answer a success, not a crash", () =>
    Effect.gen(function*() {
      // The tree's worker runs its 300 ms leaf while the other, done with its 30 ms task, steals the older 1 ms leaf,
      // answers it and retires (one task per worker): its answer must stand, and its leaving is no crash.
      for (let round = 0; round < 3; round++) {
        const [where] = yield* Effect.all([
          ComputePool.execute(Fork, [leaf(1), leaf(300)]),
          ComputePool.execute(Leaf, leaf(30))
        ], {
          concurrency: "unbounded"
        })
        assert.strictEqual(where.length, 2)
      }
      yield* poll(Effect.map(ComputePool.stats, (stats) => stats.activeTasks === 0))
      const stats = yield* ComputePool.stats
      assert.strictEqual(stats.crashed, 0, JSON.stringify(stats))
      assert.strictEqual(stats.workerRestarts, 0, JSON.stringify(stats))
      assert.isAtLeast(stats.workerRecycles, 3)
      assertBalanced(stats)
    }).pipe(Effect.provide(ComputePool.layer({ entry, threads: 2, maxTasksPerWorker: 1 }))))
})
