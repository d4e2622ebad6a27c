import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { runChaos } from "./chaos/chaos.ts"

describe("chaos (short form; `npm run chaos` runs the long one)", () => {
  it.live(
    "a seeded mix with workers killed at random, nested trees among it: every task ends once, the pool recovers, metrics balance",
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
        // Every task the pool took, subtasks spawned in workers included, ended in exactly one outcome.
        const { stats } = report
        assert.strictEqual(
          stats.submitted,
          stats.succeeded + stats.failed + stats.defects + stats.interrupted + stats.crashed + stats.rejected,
          `stats balance: ${JSON.stringify(stats)}`
        )
        assert.strictEqual(stats.activeTasks, 0)
        assert.strictEqual(stats.queuedTasks, 0)
        // The fork-join trees: each ended in one outcome its plan allows (checked in runChaos: any other is in
        // `unexpected`), and the mix gave every kind of ending.
        const { trees } = report
        assert.strictEqual(Object.values(trees.outcomes).reduce((a, b) => a + b, 0), trees.calls)
        assert.isAbove(trees.faulty, 0)
        assert.isAbove(trees.interruptedByCaller, 0)
        for (const outcome of ["success", "TreeFailure", "TaskDefect", "WorkerCrashed", "interrupted"]) {
          assert.isAbove(trees.outcomes[outcome] ?? 0, 0, `a tree ended with ${outcome}: ${JSON.stringify(trees)}`)
        }
      }),
    240_000
  )
})
