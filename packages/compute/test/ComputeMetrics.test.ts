import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Exit, Fiber, Layer, Metric, Scope } from "effect"
import { ComputePool } from "effect-compute"
import { Add, BusyFor, Echo, ExitProcess, ParallelFib, Sleep, Square, Throw } from "./fixtures/tasks.ts"
import { poll } from "./helpers.ts"

const entry = new URL("./fixtures/worker.ts", import.meta.url)

/** The value of a counter or gauge series, by metric id and attributes. */
const valueOf = (
  snapshot: ReadonlyArray<Metric.Metric.Snapshot>,
  id: string,
  attributes: Record<string, string> = {}
): number => {
  let total = 0
  for (const entry of snapshot) {
    if (entry.id !== id) continue
    const attrs = (entry.attributes ?? {}) as Record<string, unknown>
    if (!Object.entries(attributes).every(([key, value]) => attrs[key] === value)) continue
    const state = entry.state as { count?: number; value?: number }
    total += Number(state.count ?? state.value ?? 0)
  }
  return total
}

const runOn = (pool: ComputePool.ComputePool["Service"], count: number) =>
  Effect.forEach(Array.from({ length: count }, (_, i) => i), (i) => pool.execute(Add, [i, 1]), { discard: true })

describe("metrics", () => {
  it.live("every outcome is counted once, per task, and active returns to 0", () =>
    Effect.gen(function*() {
      yield* ComputePool.execute(Add, [1, 2])
      yield* Effect.exit(ComputePool.execute(Square, -1))
      yield* Effect.exit(ComputePool.execute(Throw, "boom"))
      yield* Effect.exit(ComputePool.execute(Echo, () => 1))
      yield* Effect.exit(ComputePool.execute(ExitProcess, 4))
      const sleeping = yield* Effect.forkChild(ComputePool.execute(Sleep, 60_000))
      yield* poll(Effect.map(ComputePool.stats, (stats) => stats.activeTasks === 1))
      yield* Fiber.interrupt(sleeping)
      yield* ComputePool.execute(BusyFor, 80)

      const snapshot = yield* Metric.snapshot
      const submitted = valueOf(snapshot, "compute_tasks_submitted_total")
      const completed = valueOf(snapshot, "compute_tasks_completed_total")
      assert.strictEqual(submitted, 7)
      assert.strictEqual(completed, submitted)
      for (
        const [task, outcome] of [
          ["Add", "success"],
          ["Square", "failure"],
          ["Throw", "defect"],
          ["Echo", "rejected"],
          ["ExitProcess", "crashed"],
          ["Sleep", "interrupted"],
          ["BusyFor", "success"]
        ]
      ) {
        assert.strictEqual(valueOf(snapshot, "compute_tasks_completed_total", { task: task!, outcome: outcome! }), 1)
      }
      yield* poll(
        Effect.map(Metric.snapshot, (now) =>
          valueOf(now, "compute_tasks_active") === 0 && valueOf(now, "compute_live_workers") === 2)
      )
      assert.strictEqual(valueOf(snapshot, "compute_worker_restarts_total"), 1)
      assert.strictEqual(valueOf(snapshot, "compute_slow_tasks_total", { task: "BusyFor" }), 1)
      // One queue wait per task dispatched (all seven: Echo's payload was taken and failed only as it was sent).
      assert.strictEqual(valueOf(snapshot, "compute_queue_wait_seconds"), 7)
      assert.isAtLeast(valueOf(snapshot, "compute_run_time_seconds", { task: "BusyFor" }), 1)

      // The replacement worker reports its utilisation once it is ready.
      yield* poll(Effect.map(ComputePool.metrics, (metrics) =>
        metrics.worker_utilization.length === 2))
      const metrics = yield* ComputePool.metrics
      assert.strictEqual(metrics.tasks_total, 7)
      assert.strictEqual(metrics.tasks_active, 0)
      assert.strictEqual(metrics.slow_tasks, 1)
      assert.deepStrictEqual(metrics.outcomes, {
        success: 2,
        failure: 1,
        defect: 1,
        interrupted: 1,
        crashed: 1,
        rejected: 1
      })
      // BusyFor(80) holds its thread for at least 79 ms (Date.now() granularity): above the 50 ms threshold.
      assert.isAbove(metrics.max_task_duration_us, 50_000)
      assert.isAtLeast(metrics.run_time_us.p99, metrics.run_time_us.p50)
      assert.strictEqual(metrics.worker_restarts, 1)
      assert.strictEqual(metrics.worker_utilization.length, 2)
      for (const value of metrics.worker_utilization) {
        assert.isTrue(value >= 0 && value <= 1)
      }
    }).pipe(Effect.provide(ComputePool.layer({ entry, threads: 2, slowTaskThreshold: "50 millis" }))))

  it.live("subtasks that ran among the workers are counted per task, each once, with a run time each", () =>
    Effect.gen(function*() {
      // ParallelFib(14) forks down to n <= 10: 15 calls in all, the root from this thread and 14 subtasks spawned in
      // workers, whose endings the workers sum per task name before they send them.
      assert.strictEqual(yield* ComputePool.execute(ParallelFib, 14), 377)
      // Read as the caller resumes: the endings of subtasks a peer stole came to the root's worker with the answers.
      const snapshot = yield* Metric.snapshot
      assert.strictEqual(valueOf(snapshot, "compute_tasks_submitted_total", { task: "ParallelFib" }), 15)
      assert.strictEqual(
        valueOf(snapshot, "compute_tasks_completed_total", { task: "ParallelFib", outcome: "success" }),
        15
      )
      assert.strictEqual(valueOf(snapshot, "compute_tasks_completed_total"), 15)
      assert.strictEqual(valueOf(snapshot, "compute_run_time_seconds", { task: "ParallelFib" }), 15)
    }).pipe(Effect.provide(ComputePool.layer({ entry, threads: 2 }))))

  it.live("two pools in one registry keep their own series, which add up, and one's shutdown leaves the other's", () =>
    Effect.gen(function*() {
      const cpu = yield* Layer.build(ComputePool.layer({ entry, threads: 2, name: "cpu" }))
      const parsing = yield* Scope.make()
      const parse = yield* Layer.buildWithScope(ComputePool.layer({ entry, threads: 1, name: "parsing" }), parsing)
      // A third pool under the first one's name: its figures join the same series.
      const twin = yield* Layer.build(ComputePool.layer({ entry, threads: 1, name: "cpu" }))
      yield* runOn(Context.get(cpu, ComputePool.ComputePool), 5)
      yield* runOn(Context.get(parse, ComputePool.ComputePool), 3)
      yield* runOn(Context.get(twin, ComputePool.ComputePool), 2)

      const both = yield* Metric.snapshot
      assert.strictEqual(valueOf(both, "compute_tasks_submitted_total"), 10)
      assert.strictEqual(valueOf(both, "compute_tasks_submitted_total", { pool: "cpu" }), 7)
      assert.strictEqual(valueOf(both, "compute_tasks_submitted_total", { pool: "parsing" }), 3)
      assert.strictEqual(valueOf(both, "compute_tasks_completed_total", { pool: "cpu", outcome: "success" }), 7)
      assert.strictEqual(valueOf(both, "compute_queue_wait_seconds", { pool: "cpu" }), 7)
      assert.strictEqual(valueOf(both, "compute_live_workers"), 4)
      assert.strictEqual(valueOf(both, "compute_live_workers", { pool: "parsing" }), 1)

      yield* Scope.close(parsing, Exit.void)
      const after = yield* Metric.snapshot
      assert.strictEqual(valueOf(after, "compute_tasks_submitted_total", { pool: "parsing" }), 0)
      assert.strictEqual(valueOf(after, "compute_tasks_submitted_total", { pool: "cpu" }), 7)
      assert.strictEqual(valueOf(after, "compute_live_workers", { pool: "cpu" }), 3)
      assert.isAbove(after.filter((series) => series.id === "compute_worker_utilization").length, 0)
      yield* runOn(Context.get(cpu, ComputePool.ComputePool), 1)
      assert.strictEqual(valueOf(yield* Metric.snapshot, "compute_tasks_submitted_total", { pool: "cpu" }), 8)
    }).pipe(
      Effect.scoped,
      // A registry of this test's own, so only these three pools are in it.
      Effect.provideService(Metric.MetricRegistry, new Map())
    ))
})
