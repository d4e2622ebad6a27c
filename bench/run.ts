/**
 * `npm run bench`: every (pool, benchmark) pair in a fresh process, side by side in one run, on the same machine;
 * medians of several repetitions, each in its own process after a warm-up. Prints a table with speed ratios, writes
 * JSON and, next to it, the chart (SVG) of the same results.
 *
 *   npm run bench                      full run (a few minutes on 2 cores)
 *   npm run bench -- --quick           small sizes, one repetition (what the smoke test runs)
 *   npm run bench -- --threads 4 --reps 5 --bench roundtrip,small --pools effect-compute,piscina --out file.json
 *   npm run bench -- --bench fork-join,map --pools effect-compute,inline,rayon   (Rayon beside us: bench/rayon.ts)
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
import { buildRayon, type RayonBuild, type RayonColumn, rayonMissing, runRayon } from "./rayon.ts"
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

/** A column of the table: a pool of bench/pools.ts, or one of Rayon's runs. */
type Column = PoolName | RayonColumn

interface Row {
  readonly benchmark: Benchmark
  readonly medians: Partial<Record<Column, number>>
  readonly samples: Partial<Record<Column, ReadonlyArray<number>>>
}

// Rayon's columns, where a row selected has them and `--pools` does not leave them out; skipped, saying how to get
// them, where cargo or Debian's crates are missing.
const rayonWanted = (onlyPools === undefined || onlyPools.includes("rayon")) &&
  benchmarks.some((b) => b.rayon === true && (onlyBenchmarks === undefined || onlyBenchmarks.includes(b.name)))
const rayonSkipped = rayonWanted ? rayonMissing() : undefined
let rayon: RayonBuild | undefined
if (rayonSkipped !== undefined) console.log(`rayon columns skipped: ${rayonSkipped}`)
else if (rayonWanted) {
  const start = Date.now()
  rayon = buildRayon()
  console.log(
    `rayon ${rayon.rayon} (bench/rayon, ${rayon.rustc}): built in ${((Date.now() - start) / 1_000).toFixed(1)} s`
  )
}

// Repetitions run in rounds, each pool once per round, so a slow spell of a shared machine hits every pool alike.
const rows: Array<Row> = []
for (const benchmark of benchmarks) {
  if (onlyBenchmarks && !onlyBenchmarks.includes(benchmark.name)) continue
  const row: Row = { benchmark, medians: {}, samples: {} }
  const poolsHere = benchmark.pools.filter((pool) => !onlyPools || onlyPools.includes(pool))
  const samples = new Map<Column, Array<number>>()
  const add = (column: Column, sample: number) => samples.set(column, [...(samples.get(column) ?? []), sample])
  for (let round = 0; round < reps; round++) {
    for (const pool of poolsHere) add(pool, runCase(pool, benchmark))
    if (rayon !== undefined && benchmark.rayon === true) {
      // One run per round, like every pool: its own warm-ups, then one measured run of its loop and of its pool.
      const warmups = quick ? 1 : benchmark.warmups ?? 1
      const sample = runRayon(benchmark.name, { threads, reps: 1, warmups, iterationsPerUs, quick })
      add("rayon", sample.pool)
      if (sample.sequential !== undefined) add("rayon-seq", sample.sequential)
      if (sample.spawn !== undefined) add("rayon-spawn", sample.spawn)
    }
  }
  for (const [column, values] of samples) {
    row.samples[column] = values
    row.medians[column] = median(values)
    console.log(`  ${benchmark.name} / ${column}: ${format(row.medians[column]!)} ${benchmark.unit}`)
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

/** How many times faster column `a` is than column `b` in a row (above 1: `a` wins). */
const ratio = (row: Row, a: Column, b: Column): number | undefined => {
  const ours = row.medians[a]
  const theirs = row.medians[b]
  if (ours === undefined || theirs === undefined) return undefined
  return row.benchmark.higherIsBetter ? ours / theirs : theirs / ours
}

/** How many times faster effect-compute is than `other` (above 1: effect-compute wins). */
const speedup = (row: Row, other: PoolName): number | undefined => ratio(row, "effect-compute", other)

/** Rayon's pool over Rayon's sequential loop, as `vs inline` is effect-compute over the same work inline. */
const rayonSpeedup = (row: Row): number | undefined => ratio(row, "rayon", "rayon-seq")

/** effect-compute's speedup over inline as a share of Rayon's over its own loop: 1 is Rayon's scaling. */
const speedupRatioToRayon = (row: Row): number | undefined => {
  const ours = speedup(row, "inline")
  const theirs = rayonSpeedup(row)
  return ours === undefined || theirs === undefined ? undefined : ours / theirs
}

const columns: ReadonlyArray<Column> = [
  "effect-compute",
  "piscina",
  "tinypool",
  "effect-rpc",
  "raw",
  "effect-workers",
  "ec-traced",
  "ec-no-metrics",
  "inline",
  "rayon-seq",
  "rayon",
  "cluster-1",
  "cluster-2",
  "cluster-3"
]

/** Prints a table in Markdown, each column as wide as its widest cell. */
const printTable = (header: ReadonlyArray<string>, table: ReadonlyArray<ReadonlyArray<string>>) => {
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i]!.length)))
  const line = (cells: ReadonlyArray<string>) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`
  console.log()
  console.log(line(header))
  console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`)
  for (const r of table) console.log(line(r))
}
const times = (value: number | undefined) => (value === undefined ? "—" : `${value.toFixed(2)}×`)

const versus: ReadonlyArray<PoolName> = ["piscina", "tinypool", "effect-rpc", "inline"]
const header = ["benchmark", "unit", ...columns, ...versus.map((other) => `vs ${other}`)]
const table = rows.map((row) => [
  row.benchmark.title,
  row.benchmark.unit,
  ...columns.map((pool) => (row.medians[pool] === undefined ? "—" : format(row.medians[pool]!))),
  ...versus.map((other) => times(speedup(row, other)))
])
printTable(header, table)
console.log("\nvs X: how many times faster effect-compute is than X (above 1: effect-compute wins).")

// The rows Rayon runs too: each side's speedup over its own sequential run, and the first as a share of the second.
const beside = rows.filter((row) => speedupRatioToRayon(row) !== undefined)
if (beside.length > 0) {
  printTable(
    ["benchmark", "effect-compute vs inline", "rayon vs rayon-seq", "ratio (effect-compute / rayon)"],
    beside.map((row) => {
      const speedups = [speedup(row, "inline"), rayonSpeedup(row), speedupRatioToRayon(row)]
      return [row.benchmark.title, ...speedups.map(times)]
    })
  )
  console.log(
    `\nratio: effect-compute's speedup over inline as a share of Rayon's over its own sequential loop (1: as Rayon ` +
      `scales), ${threads} threads each.`
  )
}

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
const subtaskRow = rows.find((row) => row.benchmark.name === "subtask")
const subtask = subtaskRow?.medians["effect-compute"]
if (subtask !== undefined) {
  console.log(`per-subtask cost (spawn + join of a no-op subtask inside a worker): ${format(subtask)} µs/subtask`)
}
const rayonJoin = subtaskRow?.medians.rayon
const rayonSpawn = subtaskRow?.medians["rayon-spawn"]
if (rayonJoin !== undefined && rayonSpawn !== undefined) {
  console.log(
    `rayon per subtask: ${(rayonJoin * 1_000).toFixed(1)} ns a join, ${
      (rayonSpawn * 1_000).toFixed(1)
    } ns a scope with one spawn`
  )
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
  // What built bench/rayon, or why its columns were skipped (absent: not asked for).
  ...(rayon !== undefined ? { rayon } : rayonSkipped !== undefined ? { rayon: { skipped: rayonSkipped } } : {}),
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
    speedupVsInline: speedup(row, "inline"),
    rayonSpeedup: rayonSpeedup(row),
    speedupRatioToRayon: speedupRatioToRayon(row)
  }))
}
mkdirSync(dirname(out), { recursive: true })
writeFileSync(out, JSON.stringify(report, null, 2) + "\n")
const chart = out.replace(/(\.json)?$/, ".svg")
writeFileSync(chart, await renderChart(report))
console.log(`\nwrote ${out} and ${chart}`)
