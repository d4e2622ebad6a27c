/**
 * One (pool, benchmark) pair in a fresh process: start the pool, warm up, run the repetitions, print the samples
 * as one JSON line. Run by run.ts; runnable alone: `node bench/case.ts piscina small 3 <iterationsPerUs> [--quick]`.
 */
import { benchmarks } from "./benchmarks.ts"
import { type PoolName, pools } from "./pools.ts"

const [poolName, benchName, repsArg, rateArg, ...flags] = process.argv.slice(2)
const threads = Number(process.env.BENCH_THREADS ?? 2)
const benchmark = benchmarks.find((b) => b.name === benchName)
if (benchmark === undefined || poolName === undefined || !(poolName in pools)) {
  console.error(
    `usage: node bench/case.ts <${Object.keys(pools).join("|")}> <${
      benchmarks.map((b) => b.name).join("|")
    }> <reps> <iterationsPerUs> [--quick]`
  )
  process.exit(2)
}
const sizes = { iterationsPerUs: Number(rateArg), quick: flags.includes("--quick") }
const pool = await pools[poolName as PoolName](threads)
// Warm-up: full-size runs (one, unless the benchmark asks for more), so the measured ones find the JIT (ours and the
// pool's) settled. The quick form warms up once, at a fifth of the size.
const warmups = sizes.quick ? 1 : benchmark.warmups ?? 1
for (let i = 0; i < warmups; i++) await benchmark.run(pool, sizes, sizes.quick ? 0.2 : 1)
const samples: Array<number> = []
for (let i = 0; i < Number(repsArg); i++) samples.push(await benchmark.run(pool, sizes, 1))
await pool.close()
console.log(JSON.stringify({ pool: poolName, benchmark: benchName, threads, samples }))
