import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Metric } from "effect"
import { ComputePool } from "effect-compute"
import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Add, BusyFor, Sleep } from "./fixtures/tasks.ts"
import { poll } from "./helpers.ts"

const entry = new URL("./fixtures/worker.ts", import.meta.url)
const recycling = new URL("./fixtures/worker-recycling.ts", import.meta.url)

const finalizerLines = (file: string) => {
  try {
    return readFileSync(file, "utf8").split("\n").filter((line) => line.startsWith("finalized")).length
  } catch {
    return 0
  }
}

describe("worker recycling", () => {
  it.live("with maxTasksPerWorker: 50, 1,000 tasks succeed; workers are recycled, not crashed; each finalises", () => {
    const log = join(mkdtempSync(join(tmpdir(), "effect-compute-recycle-")), "finalized.log")
    process.env["EFFECT_COMPUTE_FINALIZER_LOG"] = log
    return Effect.gen(function*() {
      const sums = yield* Effect.forEach(
        Array.from({ length: 1_000 }, (_, i) => i),
        (i) => ComputePool.execute(Add, [i, 1]),
        { concurrency: 64 }
      )
      assert.deepStrictEqual(sums, Array.from({ length: 1_000 }, (_, i) => i + 1))
      // Once the last retiring worker has left (the pool is back to two), count.
      yield* poll(Effect.map(ComputePool.stats, (now) => now.liveWorkers === 2))
      const after = yield* ComputePool.stats
      // Tasks already sent to a worker when it reached 50 still run there: up to its in-flight limit more, which for
      // tasks as tiny as these is 64.
      assert.isAtLeast(after.workerRecycles, Math.floor(1_000 / (50 + 64)) - 1)
      assert.isAtMost(after.workerRecycles, 1_000 / 50)
      assert.strictEqual(after.workerRestarts, 0, "recycling is not a crash")
      assert.strictEqual(after.crashed, 0)
      assert.strictEqual(after.succeeded, 1_000)
      // Each retired worker finalised its per-worker Layer once before it left.
      assert.strictEqual(finalizerLines(log), after.workerRecycles)
      const snapshot = yield* Metric.snapshot
      const recycles = snapshot.filter((series) => series.id === "compute_worker_recycles_total")
      assert.strictEqual(
        recycles.reduce((sum, series) => sum + (series.state as { count: number }).count, 0),
        after.workerRecycles
      )
    }).pipe(Effect.provide(ComputePool.layer({ entry: recycling, threads: 2, maxTasksPerWorker: 50 })))
  })

  it.live("maxWorkerAge retires a worker after its age, between tasks; no task is lost", () =>
    Effect.gen(function*() {
      for (let i = 0; i < 12; i++) assert.strictEqual(yield* ComputePool.execute(Sleep, 40), "slept")
      const stats = yield* ComputePool.stats
      assert.isAtLeast(stats.workerRecycles, 1)
      assert.strictEqual(stats.workerRestarts, 0)
      assert.strictEqual(stats.succeeded, 12)
    }).pipe(Effect.provide(ComputePool.layer({ entry, threads: 1, maxWorkerAge: "150 millis" }))))

  it.live("recycleAboveHeapMb retires a worker whose heap passed the bound, after its task", () =>
    Effect.gen(function*() {
      // Any worker's heap (effect is loaded) is above 1 MB: each is recycled after its first check.
      for (let i = 0; i < 4; i++) assert.strictEqual(yield* ComputePool.execute(Add, [i, i]), 2 * i)
      yield* poll(Effect.map(ComputePool.stats, (stats) => stats.workerRecycles >= 1))
      const stats = yield* ComputePool.stats
      assert.strictEqual(stats.workerRestarts, 0)
      assert.strictEqual(stats.succeeded, 4)
    }).pipe(Effect.provide(ComputePool.layer({ entry, threads: 1, recycleAboveHeapMb: 1 }))))
})

describe("elastic size", () => {
  it.live("a burst grows the pool to maxThreads; idle, it shrinks back to threads; no task lost at either edge", () =>
    Effect.gen(function*() {
      let peak = 0
      const burst = Effect.forEach(
        Array.from({ length: 40 }, (_, i) => i),
        () =>
          Effect.tap(
            ComputePool.execute(BusyFor, 30),
            () => Effect.map(ComputePool.stats, (stats) => peak = Math.max(peak, stats.liveWorkers))
          ),
        { concurrency: "unbounded", discard: true }
      )
      yield* burst
      assert.strictEqual(peak, 3, "grew to maxThreads")
      yield* poll(Effect.map(ComputePool.stats, (stats) => stats.liveWorkers === 1))
      // A second burst grows it again.
      peak = 0
      yield* burst
      assert.strictEqual(peak, 3)
      const stats = yield* ComputePool.stats
      assert.strictEqual(stats.succeeded, 80)
      assert.strictEqual(stats.submitted, 80)
      assert.strictEqual(stats.workerRestarts, 0)
      assert.strictEqual(stats.workerRecycles, 0, "shrinking is not recycling")
    }).pipe(
      Effect.provide(ComputePool.layer({ entry, threads: 1, maxThreads: 3, idleTimeout: "200 millis" }))
    ))

  it.effect("maxThreads below threads is refused with InvalidOptions", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(
        Effect.scoped(Layer.build(ComputePool.layer({ entry, threads: 4, maxThreads: 2 })))
      )
      assert.isTrue(exit._tag === "Failure")
    }))
})
