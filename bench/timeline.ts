/**
 * `npm run bench:timeline -- <benchmark>`: one run of a benchmark on effect-compute with the timeline on, drawn as an
 * SVG (bench/timelineSvg.ts): one lane per worker and the main thread, where each sat idle and why. Warms up as the
 * bench does, then records one measured run.
 *
 *   npm run bench:timeline -- fork-join                  bench/results/timeline-fork-join.svg, docs/public/timeline/fork-join.svg
 *   npm run bench:timeline -- fork-join --suffix before  ...-before.svg: a picture kept beside later ones
 *   npm run bench:timeline -- fork-join-fine --threads 4 --quick --json   (and the spans, as JSON, beside the SVG)
 *   npm run bench:timeline -- --render bench/results/timeline-fork-join-before.json   (the SVG again, from the JSON)
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { availableParallelism, loadavg } from "node:os"
import { fileURLToPath } from "node:url"
import * as Timeline from "../packages/compute/src/internal/shared/timeline.ts"
import { benchmarks } from "./benchmarks.ts"
import type { BenchPool } from "./pools.ts"
import { describeSteals } from "./steal.ts"
import { renderTimeline, summarize, summaryLine } from "./timelineSvg.ts"
import { calibrate } from "./workload.ts"

const args = process.argv.slice(2)
if (args[0] === "--render") {
  const file = args[1]!
  const saved = JSON.parse(readFileSync(file, "utf8")) as {
    title: string
    from: number
    to: number
    spans: Array<Timeline.Span>
  }
  // JSON wrote the readings not taken (NaN) as null.
  const spans = saved.spans.map((span) => ({ ...span, idleStart: span.idleStart ?? NaN, idleEnd: span.idleEnd ?? NaN }))
  writeFileSync(file.replace(/(\.json)?$/, ".svg"), renderTimeline(spans, saved))
  process.exit(0)
}
const flag = (name: string) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? args[i + 1] : undefined
}
const name = args[0]
const benchmark = benchmarks.find((b) => b.name === name)
if (benchmark === undefined || !benchmark.pools.includes("effect-compute") || benchmark.name === "steal") {
  console.error(
    `usage: npm run bench:timeline -- <${
      benchmarks.filter((b) => b.pools.includes("effect-compute") && b.name !== "steal").map((b) => b.name).join("|")
    }> [--threads 2] [--quick] [--suffix before] [--json]`
  )
  process.exit(2)
}
const threads = Number(flag("threads") ?? 2)
const quick = args.includes("--quick")
const suffix = flag("suffix") === undefined ? "" : `-${flag("suffix")}`

const sizes = { iterationsPerUs: calibrate(), quick }
// On before the pool starts: each worker reads the switch once, when it starts.
const collector = Timeline.collect()
const { effectCompute } = await import("./effectPools.ts")
const pool = await effectCompute(threads)
for (let i = 0; i < (quick ? 1 : benchmark.warmups ?? 1); i++) await benchmark.run(pool, sizes, quick ? 0.2 : 1)
// The measured run, each call on the pool a span of the main thread's lane; the window is from the first call to the
// end of the last (not the benchmark's checks around them: fork-join computes fib(32) inline to check the answer).
const calls: Array<[number, number]> = []
const recorded = Object.fromEntries(
  Object.entries(pool).map(([key, method]) => [key, async (...args: Array<any>) => {
    const start = collector.now()
    try {
      return await (method as (...args: Array<any>) => Promise<unknown>)(...args)
    } finally {
      calls.push([start, collector.now()])
    }
  }])
) as unknown as BenchPool
const metric = await benchmark.run(recorded, sizes, 1)
const from = Math.min(...calls.map(([start]) => start))
const to = Math.max(...calls.map(([, end]) => end))
for (const [start, end] of calls) collector.record(Timeline.Kind.Call, start, end)
await pool.close()
const all = collector.spans()
collector.close()

const spans = all.filter((span) => span.end >= from && span.start <= to).map((span) => ({
  ...span,
  start: Math.max(span.start, from),
  end: Math.min(span.end, to)
}))
const load = loadavg().map((x) => x.toFixed(2)).join(" ")
const title = `${benchmark.title}: ${metric.toFixed(1)} ${benchmark.unit}, effect-compute, ${threads} threads, ` +
  `${availableParallelism()} cores, load ${load}`
const svg = renderTimeline(spans, { title, from, to })
const outputs = [
  new URL(`./results/timeline-${benchmark.name}${suffix}.svg`, import.meta.url),
  new URL(`../docs/public/timeline/${benchmark.name}${suffix}.svg`, import.meta.url)
].map((url) => fileURLToPath(url))
for (const file of outputs) {
  mkdirSync(fileURLToPath(new URL(".", `file://${file}`)), { recursive: true })
  writeFileSync(file, svg)
}
console.log(title)
for (const summary of summarize(spans, from, to)) {
  console.log(`  ${summary.lane < 0 ? "main" : `worker ${summary.lane}`}: ${summaryLine(summary, to - from)}`)
}
console.log(`  ${describeSteals(Timeline.stealTimes(all, from))}`)
if (args.includes("--json")) {
  const json = outputs[0]!.replace(/\.svg$/, ".json")
  writeFileSync(json, JSON.stringify({ title, from, to, spans }) + "\n")
  outputs.push(json)
}
console.log(`wrote ${outputs.join(" and ")}`)
