import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Metric } from "effect"
import { ComputePool } from "effect-compute"
import { BusyFor, Double } from "./fixtures/tasks.ts"
import { poll } from "./helpers.ts"

const entry = new URL("./fixtures/worker.ts", import.meta.url)

describe("priorities", () => {
  it.live("while low-priority tasks flood the pool, high-priority ones go next; every low one still completes", () =>
    Effect.gen(function*() {
      const completed: Array<string> = []
      const lows = 200
      const flood = yield* Effect.forkChild(
        Effect.forEach(
          Array.from({ length: lows }, (_, i) => i),
          (i) => Effect.tap(ComputePool.execute(BusyFor, 1), () => Effect.sync(() => completed.push(`low ${i}`))),
          { concurrency: "unbounded", discard: true }
        )
      )
      yield* poll(Effect.map(ComputePool.stats, (stats) => stats.queuedTasks >= lows / 2))
      const highs = yield* Effect.forEach(
        [1, 2, 3, 4, 5],
        (n) =>
          Effect.suspend(() => {
            completed.push("high queued")
            return Effect.tap(
              ComputePool.execute(Double, n, { priority: 10 }),
              () => Effect.sync(() => completed.push(`high ${n}`))
            )
          }),
        { concurrency: "unbounded" }
      )
      assert.deepStrictEqual(highs, [2, 4, 6, 8, 10])
      // Between the last high queued and the last high done, only the lows already on a worker may finish (two
      // workers, one task each; and a caller resumes a little after its task ended, so allow two more), not the ~100
      // queued ahead of the highs. Counted in order, whatever the machine's speed.
      const queued = completed.lastIndexOf("high queued")
      const done = Math.max(...[1, 2, 3, 4, 5].map((n) => completed.indexOf(`high ${n}`)))
      const lowsMeanwhile = completed.slice(queued, done).filter((entry) => entry.startsWith("low")).length
      assert.isAtMost(lowsMeanwhile, 4, `lows that finished while the highs waited: ${lowsMeanwhile}`)
      yield* Fiber.join(flood)
      assert.strictEqual(completed.filter((entry) => entry.startsWith("low")).length, lows)

      // Queue waits by lane.
      const lanes = (yield* Metric.snapshot).filter((series) => series.id === "compute_lane_queue_wait_seconds")
      const countOf = (priority: string) =>
        lanes.filter((series) => series.attributes?.["priority"] === priority).reduce(
          (sum, series) => sum + (series.state as { count: number }).count,
          0
        )
      assert.strictEqual(countOf("10"), 5)
      assert.strictEqual(countOf("0"), lows)
    }).pipe(
      Effect.provide(
        // Aging slow enough that, on a loaded machine too, no low task waits long enough to rank with the high ones
        // (aging itself is tested on the dispatcher with the TestClock).
        ComputePool.layer({ entry, threads: 2, maxInFlightPerWorker: 1, priorityAging: "1 minute" })
      )
    ))
})
