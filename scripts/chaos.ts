/**
 * `npm run chaos -- --tasks 20000 --seed 7 --threads 2`: the long chaos run (see packages/compute/test/chaos).
 * Prints the outcome counts and exits non-zero if anything was lost, doubled or unexpected.
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
const ok = ended === report.submitted && report.unexpected.length === 0 && report.metrics.tasks_active === 0 &&
  report.metrics.completed === report.metrics.tasks_total
console.log(ok ? "chaos: every task ended exactly once" : "chaos: FAILED")
process.exit(ok ? 0 : 1)
