/**
 * `npm run chaos -- --tasks 20000 --seed 7 --threads 2`: the long chaos run (see packages/compute/test/chaos).
 * Prints the outcome counts (the fork-join trees' apart) and exits non-zero if anything was lost, doubled or
 * unexpected, or if the pool's stats do not balance (submitted = the sum of the outcomes, nothing left active).
 */
import { Effect } from "effect"
import { runChaos } from "../packages/compute/test/chaos/chaos.ts"

const args = process.argv.slice(2)
const flag = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? Number(args[i + 1]) : fallback
}
const started = Date.now()
const report = await Effect.runPromise(
  runChaos({ tasks: flag("tasks", 20_000), seed: flag("seed", 7), threads: flag("threads", 2) })
)
const ended = Object.values(report.outcomes).reduce((a, b) => a + b, 0)
console.log(JSON.stringify({ ...report, seconds: (Date.now() - started) / 1_000 }, null, 2))
const { stats, trees } = report
// Every task the pool took (subtasks spawned in workers included) ended in exactly one outcome.
const balanced = stats.submitted ===
    stats.succeeded + stats.failed + stats.defects + stats.interrupted + stats.crashed + stats.rejected &&
  stats.activeTasks === 0 && stats.queuedTasks === 0
const treesEnded = Object.values(trees.outcomes).reduce((a, b) => a + b, 0)
const ok = ended === report.submitted && report.unexpected.length === 0 && report.metrics.tasks_active === 0 &&
  report.metrics.completed === report.metrics.tasks_total && balanced && treesEnded === trees.calls
console.log(
  ok ? "chaos: every task ended exactly once, every tree as its plan allows" : "chaos: FAILED"
)
process.exit(ok ? 0 : 1)
