/**
 * The `steal` row: what stealing costs, measured on effect-compute's fork-join fib(32)/24 with the timeline on
 * (`packages/compute/src/internal/shared/timeline.ts`). Per stolen subtask: the time from its owner queueing it to a
 * thief starting it, and the steal's own cost (the time inside the owner's steal slots). The row's value is the cost's
 * p50 in µs (what `bench/model.ts` reads as `steal`); the histogram (p50, p99 of both) is printed beside it.
 *
 *   npm run bench -- --bench steal --pools effect-compute
 */
import * as Timeline from "../packages/compute/src/internal/shared/timeline.ts"
import { quantile } from "./quantile.ts"

const micros = (ms: number) => `${(ms * 1_000).toFixed(1)} µs`

const line = (name: string, xs: ReadonlyArray<number>) =>
  `${name} p50 ${micros(quantile(xs, 0.5))}, p99 ${micros(quantile(xs, 0.99))}`

/** The steal histogram in one line. */
export const describeSteals = (times: Timeline.StealTimes): string => {
  return [
    `${times.queuedToStarted.length} stolen subtasks: ${line("queued→started", times.queuedToStarted)}`,
    line("published→started", times.publishedToStarted),
    line(`steal's own cost (${times.cost.length} steals)`, times.cost)
  ].join("; ")
}

/** Warm-up runs before the measured ones (the fork-join row's own count). */
const warmups = 5
/** Measured runs: at least `runs`, then more until `steals` subtasks were stolen, at most `maxRuns` (a tree of few
 * leaves may see no steal in a run). */
const full = { runs: 10, steals: 100, maxRuns: 100 }
const quickSizes = { runs: 2, steals: 1, maxRuns: 20 }

/**
 * Runs fib(32)/24 on a fresh effect-compute pool with the timeline on — the pool the bench hands a case was started
 * before it could be switched on — and returns the steal times of the measured runs. The quick form too: a smaller
 * tree (fib(26)/18, ~1 ms) can end before a sleeping peer wakes, and then nothing is stolen at all.
 */
export const measureSteals = async (threads: number, quick: boolean): Promise<Timeline.StealTimes> => {
  // Loaded here, not at the top: run.ts imports the benchmarks, and need not load every pool.
  const { effectCompute } = await import("./effectPools.ts")
  const collector = Timeline.collect()
  try {
    const pool = await effectCompute(threads)
    try {
      const n = 32
      for (let i = 0; i < (quick ? 1 : warmups); i++) await pool.fib!(n, n - 8)
      const from = collector.now()
      const enough = quick ? quickSizes : full
      let times = Timeline.stealTimes([])
      for (let run = 1; run <= enough.maxRuns; run++) {
        await pool.fib!(n, n - 8)
        times = Timeline.stealTimes(collector.spans(), from)
        if (run >= enough.runs && times.queuedToStarted.length >= enough.steals) break
      }
      return times
    } finally {
      await pool.close()
    }
  } finally {
    collector.close()
  }
}

/** The row's value: the steal's own cost, p50, in µs; the histogram goes to stderr (the case's stdout is its result). */
export const stealRow = async (quick: boolean): Promise<number> => {
  const times = await measureSteals(Number(process.env.BENCH_THREADS ?? 2), quick)
  console.error(`  steal: ${describeSteals(times)}`)
  const cost = quantile(times.cost, 0.5) * 1_000
  if (!Number.isFinite(cost)) throw new Error("steal: no subtask was stolen")
  return cost
}
