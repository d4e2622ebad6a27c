/**
 * The benchmark chart: an SVG with one panel per benchmark, a bar per pool for its cost relative to effect-compute
 * (lower is better), labelled with the measured value. Drawn with vega-lite compiled to vega, rendered headless (no
 * canvas, no network), so the same report always gives the same SVG.
 *
 *   node bench/chart.ts bench/results/2-core-idle-spin.json   re-render bench/results/2-core-idle-spin.svg from a saved report
 */
import { readFileSync, writeFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { parse, View } from "vega"
import { compile, type TopLevelSpec } from "vega-lite"

/** The JSON report run.ts writes (the fields the chart reads). */
export interface Report {
  readonly node: string
  readonly cores: number
  readonly cpu?: string | undefined
  readonly threads: number
  readonly reps: number
  readonly quick: boolean
  readonly results: ReadonlyArray<{
    readonly benchmark: string
    readonly title: string
    readonly unit: string
    readonly higherIsBetter: boolean
    readonly medians: Readonly<Record<string, number>>
  }>
}

/** A measured value in 3 or so significant digits: 12.3, 456, 7.8k, 91k; two for tiny ones (Rayon's): 0.029. */
export const formatValue = (value: number): string => {
  if (value >= 10_000) return `${(value / 1_000).toFixed(0)}k`
  if (value >= 1_000) return `${(value / 1_000).toFixed(1)}k`
  if (value >= 100) return value.toFixed(0)
  if (value > 0 && value < 0.1) return value.toPrecision(2)
  return value.toFixed(1)
}

/** The pool every bar is measured against; a row without it is measured against its best pool. */
const baselinePool = "effect-compute"

/** The vega-lite spec of a report: one layered bar panel per benchmark, two panels a row. */
export const chartSpec = (report: Report): TopLevelSpec => {
  const y = { field: "pool", type: "nominal", sort: null, title: null } as const
  const panels = report.results.map((result) => {
    const entries = Object.entries(result.medians)
    // Cost: how many times the time (or the delay) of the baseline, whatever the unit, so lower is better everywhere.
    const cost = (value: number, of: number) => (result.higherIsBetter ? of / value : value / of)
    const baseline = result.medians[baselinePool] ??
      entries.map(([, value]) => value).reduce((best, value) => (cost(value, best) < 1 ? value : best))
    const against = result.medians[baselinePool] === undefined ? "the best pool" : baselinePool
    const costs = entries.map(([, value]) => cost(value, baseline))
    return {
      title: {
        text: result.title,
        subtitle: `${result.unit}, ${result.higherIsBetter ? "higher" : "lower"} is better; bar: cost vs ${against}`
      },
      data: {
        values: entries.map(([pool, value]) => ({
          pool,
          cost: cost(value, baseline),
          label: `${formatValue(value)} ${result.unit}`,
          ours: pool === baselinePool
        }))
      },
      width: 340,
      height: { step: 18 },
      layer: [
        {
          mark: { type: "bar", height: { band: 0.75 } },
          encoding: {
            y,
            x: {
              field: "cost",
              type: "quantitative",
              title: `× ${against} (lower is better)`,
              // Room on the right for the longest bar's label.
              scale: { domainMax: Math.max(1, ...costs) * 1.35, nice: false }
            },
            color: {
              field: "ours",
              type: "nominal",
              scale: { domain: [true, false], range: ["#4c78a8", "#b0b7c3"] },
              legend: null
            }
          }
        },
        {
          mark: { type: "text", align: "left", dx: 4, fontSize: 10 },
          encoding: { y, x: { field: "cost", type: "quantitative" }, text: { field: "label" } }
        },
        {
          data: { values: [{}] },
          mark: { type: "rule", strokeDash: [4, 3], color: "#444" },
          encoding: { x: { datum: 1, type: "quantitative" } }
        }
      ]
    }
  })
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: {
      text: "effect-compute benchmark",
      subtitle:
        `Node ${report.node}, ${report.cores} cores (${report.cpu ?? "unknown cpu"}), ${report.threads} threads, ` +
        `median of ${report.reps} rep(s)${report.quick ? ", quick sizes" : ""}; dashed line: 1×`,
      anchor: "start",
      offset: 16
    },
    background: "white",
    padding: 12,
    columns: 2,
    spacing: { row: 28, column: 32 },
    // Every panel's x scale is its own: a benchmark's spread says nothing about another's.
    resolve: { scale: { x: "independent" } },
    config: { title: { subtitleColor: "#555" }, axis: { labelFontSize: 11 } },
    concat: panels
  } as TopLevelSpec
}

/** Renders a report's chart to SVG text. */
export const renderChart = (report: Report): Promise<string> =>
  new View(parse(compile(chartSpec(report)).spec), { renderer: "none" }).toSVG()

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const input = process.argv[2]
  if (input === undefined || !input.endsWith(".json")) {
    console.error("usage: node bench/chart.ts <report.json>   (writes <report>.svg next to it)")
    process.exit(2)
  }
  const output = input.replace(/\.json$/, ".svg")
  writeFileSync(output, await renderChart(JSON.parse(readFileSync(input, "utf8")) as Report))
  console.log(`wrote ${output}`)
}
