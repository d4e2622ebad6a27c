/**
 * `npm run bench`: every (pool, benchmark) pair in a fresh process, side by side in one run, on the same machine;
 * medians of several repetitions, each in its own process after a warm-up. Prints a table with speed ratios, writes
 * JSON and, next to it, the chart (SVG) of the same results.
 *
 *   npm run bench                      full run (a few minutes on 2 cores)
 *   npm run bench -- --quick           small sizes, one repetition (what the smoke test runs)
 *   npm run bench -- --threads 4 --reps 5 --bench roundtrip,small --pools effect-compute,piscina --out file.json
 *   (file.svg is written next to file.json; `node bench/chart.ts file.json` re-renders it from the JSON alone)
 */
import { execFileSync } from "node:child_process"
import { mkdirSync, writeFileSync } from "node:fs"
import { availableParallelism, cpus } from "node:os"
import { dirname } from "node:path"
import { fileURLToPath } from "node:url"
import { type Benchmark, benchmarks } from "./benchmarks.ts"
import { formatValue as format, renderChart } from "./chart.ts"
import type { PoolName } from "./pools.ts"
import { calibrate } from "./workload.ts"

const args = process.argv.slice(2)
const flag = (name: string) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? args[i + 1] : undefined
}
const quick = args.includes("--quick")
const reps = Number(flag("reps") ?? (quick ? 1 : 3))
const threads = Number(flag("threads") ?? 2)
const onlyBenchmarks = flag("bench")?.split(",")
const onlyPools = flag("pools")?.split(",")
const out = flag("out") ?? fileURLToPath(new URL(`./results/${quick ? "quick" : "latest"}.json`, import.meta.url))

const caseFile = fileURLToPath(new URL("./case.ts", import.meta.url))
const iterationsPerUs = calibrate()
const cores = availableParallelism()
console.log(
  `effect-compute benchmark: Node ${process.version}, ${cores} cores (${cpus()[0]?.model ?? "unknown cpu"}), ` +
    `${threads} threads, ${reps} rep(s)${quick ? ", quick sizes" : ""}; spin calibrated at ${
      iterationsPerUs.toFixed(0)
    } iterations/µs`
)

const median = (xs: ReadonlyArray<number>) => {
  const sorted = xs.toSorted((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

interface Row {
  readonly benchmark: Benchmark
  readonly medians: Partial<Record<PoolName, number>>
  readonly samples: Partial<Record<PoolName, ReadonlyArray<number>>>
}

// Repetitions run in rounds, each pool once per round, so a slow spell of a shared machine hits every pool alike.
const rows: Array<Row> = []
for (const benchmark of benchmarks) {
  if (onlyBenchmarks && !onlyBenchmarks.includes(benchmark.name)) continue
  const row: Row = { benchmark, medians: {}, samples: {} }
  const poolsHere = benchmark.pools.filter((pool) => !onlyPools || onlyPools.includes(pool))
  const samples = new Map<PoolName, Array<number>>(poolsHere.map((pool) => [pool, []]))
  for (let round = 0; round < reps; round++) {
    for (const pool of poolsHere) samples.get(pool)!.push(runCase(pool, benchmark))
  }
  for (const pool of poolsHere) {
    row.samples[pool] = samples.get(pool)!
    row.medians[pool] = median(samples.get(pool)!)
    console.log(`  ${benchmark.name} / ${pool}: ${format(row.medians[pool]!)} ${benchmark.unit}`)
  }
  rows.push(row)
}

/** One measured repetition of one pair, in a fresh process (which warms up first). */
function runCase(pool: PoolName, benchmark: Benchmark): number {
  const output = execFileSync(
    process.execPath,
    [caseFile, pool, benchmark.name, "1", String(iterationsPerUs), ...(quick ? ["--quick"] : [])],
    { encoding: "utf8", env: { ...process.env, BENCH_THREADS: String(threads) }, stdio: ["ignore", "pipe", "inherit"] }
  )
  const lines = output.trim().split("\n")
  return (JSON.parse(lines[lines.length - 1]!) as { samples: Array<number> }).samples[0]!
}

/** How many times faster effect-compute is than `other` (above 1: effect-compute wins). */
const speedup = (row: Row, other: PoolName): number | undefined => {
  const ours = row.medians["effect-compute"]
  const theirs = row.medians[other]
  if (ours === undefined || theirs === undefined) return undefined
  return row.benchmark.higherIsBetter ? ours / theirs : theirs / ours
}

const columns: ReadonlyArray<PoolName> = [
  "effect-compute",
  "piscina",
  "tinypool",
  "effect-rpc",
  "raw",
  "effect-workers",
  "ec-traced",
  "ec-no-metrics",
  "inline",
  "cluster-1",
  "cluster-2",
  "cluster-3"
]
const versus: ReadonlyArray<PoolName> = ["piscina", "tinypool", "effect-rpc", "inline"]
const header = ["benchmark", "unit", ...columns, ...versus.map((other) => `vs ${other}`)]
const table = rows.map((row) => [
  row.benchmark.title,
  row.benchmark.unit,
  ...columns.map((pool) => (row.medians[pool] === undefined ? "—" : format(row.medians[pool]!))),
  ...versus.map((other) => {
    const ratio = speedup(row, other)
    return ratio === undefined ? "—" : `${ratio.toFixed(2)}×`
  })
])
const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i]!.length)))
const line = (cells: ReadonlyArray<string>) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`
console.log()
console.log(line(header))
console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`)
for (const r of table) console.log(line(r))
console.log("\nvs X: how many times faster effect-compute is than X (above 1: effect-compute wins).")

const large = rows.find((row) => row.benchmark.name === "large")
const ideal = Math.min(threads, cores)
if (large?.medians.inline !== undefined) {
  const efficiency = (pool: PoolName) => {
    const wall = large.medians[pool]
    return wall === undefined ? "—" : `${((large.medians.inline! / wall / ideal) * 100).toFixed(0)}%`
  }
  console.log(
    `1 ms tasks, share of the ideal ${ideal}× speedup: effect-compute ${efficiency("effect-compute")}, ` +
      `piscina ${efficiency("piscina")}, tinypool ${efficiency("tinypool")}, effect-rpc ${efficiency("effect-rpc")}, ` +
      `raw ${efficiency("raw")}`
  )
}

// What bounds scaling with cores, from the main-busy and subtask rows: bench/model.ts turns them into ceilings.
const mainBusy = rows.find((row) => row.benchmark.name === "main-busy")
if (mainBusy !== undefined) {
  const each = Object.entries(mainBusy.medians).map(([pool, micros]) =>
    `${pool} ${format(micros)} µs (${format(1e6 / micros)}/s)`
  )
  console.log(`main-thread busy time per task (ceiling 1 / cost, on any number of cores): ${each.join(", ")}`)
}
const subtask = rows.find((row) => row.benchmark.name === "subtask")?.medians["effect-compute"]
if (subtask !== undefined) {
  console.log(`per-subtask cost (spawn + join of a no-op subtask inside a worker): ${format(subtask)} µs/subtask`)
}
if (mainBusy !== undefined && subtask !== undefined) {
  console.log(`ceilings on 1 to 16 cores (a model): npm run bench:model -- --results ${out}`)
}

const report = {
  date: new Date().toISOString(),
  node: process.version,
  cores,
  cpu: cpus()[0]?.model,
  threads,
  reps,
  quick,
  iterationsPerUs,
  results: rows.map((row) => ({
    benchmark: row.benchmark.name,
    title: row.benchmark.title,
    unit: row.benchmark.unit,
    higherIsBetter: row.benchmark.higherIsBetter,
    medians: row.medians,
    samples: row.samples,
    speedupVsPiscina: speedup(row, "piscina"),
    speedupVsTinypool: speedup(row, "tinypool"),
    speedupVsEffectRpc: speedup(row, "effect-rpc"),
    speedupVsInline: speedup(row, "inline")
  }))
}
mkdirSync(dirname(out), { recursive: true })
writeFileSync(out, JSON.stringify(report, null, 2) + "\n")
const chart = out.replace(/(\.json)?$/, ".svg")
writeFileSync(chart, await renderChart(report))
console.log(`\nwrote ${out} and ${chart}`)
