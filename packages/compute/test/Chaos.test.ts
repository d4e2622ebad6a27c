import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { runChaos } from "./chaos/chaos.ts"

describe("chaos (short form; `npm run chaos` runs the long one)", () => {
  it.live(
    "a seeded mix with workers killed at random: every task ends once, the pool recovers, metrics balance",
    () =>
      Effect.gen(function*() {
        const report = yield* runChaos({ tasks: 3_000, seed: 1126, threads: 2 })
        assert.deepStrictEqual(report.unexpected, [])
        const ended = Object.values(report.outcomes).reduce((a, b) => a + b, 0)
        assert.strictEqual(ended, report.submitted, "every fiber ended, once")
        assert.isAbove(report.outcomes["WorkerCrashed"] ?? 0, 0, "the mix killed workers")
        assert.isAbove(report.outcomes["interrupted"] ?? 0, 0, "the mix interrupted tasks")
        assert.strictEqual(report.stats.liveWorkers, 2, "the pool is back to its size")
        assert.strictEqual(report.metrics.tasks_active, 0)
        assert.strictEqual(report.metrics.completed, report.metrics.tasks_total, "completed == submitted")
        assert.isAtLeast(report.metrics.tasks_total, report.submitted, "subtasks of nested tasks count too")
      }),
    240_000
  )
})
