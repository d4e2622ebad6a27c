/**
 * `npm run bench:model`: a model, not a measurement, of the throughput ceiling each pool could reach on 1 to 16 cores,
 * from three per-task costs — two measured by the bench on this machine, one given:
 *
 * - `main-busy` (µs/task, per pool): the main thread's busy time per no-op task submitted from the main thread (the
 *   bench's `main-busy` row). The main thread is one thread, so however many cores the workers have:
 *
 *     main-thread submissions:           ceiling(cores) = 1 / main-busy
 *
 * - `subtask` (µs/subtask, effect-compute): spawn + join of a no-op subtask from inside a worker (the bench's
 *   `subtask` row, measured one after another, so a latency: as a cost per core it is pessimistic). With subtasks in
 *   each worker's own deque, every worker spawns and runs its own, in parallel, so the ceiling grows with the cores:
 *
 *     subtasks from the worker's deque:  ceiling(cores) = cores / subtask
 *
 * - `steal` (µs/steal, effect-compute): what taking a subtask from another worker's deque adds to it (no bench row
 *   measures it yet: `--steal`, default 2 µs, or a `steal` row if a report has one). The worst case, every subtask
 *   stolen:
 *
 *     subtasks, all stolen:              ceiling(cores) = cores / (subtask + steal)
 *
 * - and, for comparison, subtasks that go through the main thread (the scheduler before worker-local deques), which
 *   are bound by both:
 *
 *     subtasks through the main thread:  ceiling(cores) = min(cores / subtask, 1 / main-busy of effect-compute)
 *
 * `cores` counts the cores running workers (one worker thread each); the main thread is taken to have a core of its
 * own. No-op tasks: a ceiling on dispatch, not on work — tasks of `t` µs are further bound by cores / t.
 *
 *   npm run bench:model                                    reads bench/results/latest.json
 *   npm run bench:model -- --results bench/results/2-core-idle-spin.json --steal 1 --cores 1,2,4,8,16
 *   npm run bench:model -- --main-busy effect-compute=5.7,piscina=12.8 --subtask 30.5 --steal 2
 *   (a flag overrides what the report says; with --main-busy and --subtask, no report is read)
 */
import { existsSync, readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { formatValue } from "./chart.ts"

export interface ModelInputs {
  /** µs of main-thread busy time per task submitted from the main thread, per pool */
  readonly mainBusy: Readonly<Record<string, number>>
  /** µs per spawn + join of a subtask inside a worker (effect-compute) */
  readonly subtask: number
  /** µs a steal adds to a subtask */
  readonly steal: number
  readonly cores: ReadonlyArray<number>
}

export interface ModelRow {
  readonly label: string
  readonly formula: string
  /** tasks per second, one per entry of `cores` */
  readonly ceilings: ReadonlyArray<number>
}

/** A rate in 2 or 3 significant digits: 6.5k, 175k, 1.6M, 12M. */
export const formatRate = (perSecond: number): string =>
  perSecond >= 1e7
    ? `${(perSecond / 1e6).toFixed(0)}M`
    : perSecond >= 1e6
    ? `${(perSecond / 1e6).toFixed(1)}M`
    : formatValue(perSecond)

export const defaultCores: ReadonlyArray<number> = [1, 2, 4, 8, 16]
export const defaultSteal = 2

const perSecond = (micros: number) => 1e6 / micros
const micros = (value: number) => `${Number(value.toPrecision(3))} µs`

/** The ceilings, in tasks per second: one row per pool for main-thread submissions, then effect-compute's subtasks. */
export const model = (inputs: ModelInputs): Array<ModelRow> => {
  const rows: Array<ModelRow> = Object.entries(inputs.mainBusy).map(([pool, busy]) => ({
    label: `${pool}: tasks submitted from the main thread`,
    formula: "1 / main-busy",
    ceilings: inputs.cores.map(() => perSecond(busy))
  }))
  rows.push({
    label: "effect-compute: subtasks spawned in workers, from the worker's own deque",
    formula: "cores / subtask",
    ceilings: inputs.cores.map((cores) => cores * perSecond(inputs.subtask))
  }, {
    label: "effect-compute: subtasks spawned in workers, all stolen",
    formula: "cores / (subtask + steal)",
    ceilings: inputs.cores.map((cores) => cores * perSecond(inputs.subtask + inputs.steal))
  })
  const busy = inputs.mainBusy["effect-compute"]
  if (busy !== undefined) {
    rows.push({
      label: "effect-compute: subtasks through the main thread (the scheduler before worker-local deques)",
      formula: "min(cores / subtask, 1 / main-busy)",
      ceilings: inputs.cores.map((cores) => Math.min(cores * perSecond(inputs.subtask), perSecond(busy)))
    })
  }
  return rows
}

/** Where each input came from, for the output's header. */
export interface Sources {
  readonly mainBusy: string
  readonly subtask: string
  readonly steal: string
}

/** The model's output: a markdown section with its inputs, formulas and table. */
export const render = (inputs: ModelInputs, sources: Sources): string => {
  const rows = model(inputs)
  const header = [
    "ceiling, tasks/s (model, not measured)",
    "formula",
    ...inputs.cores.map((c) => `${c} core${c === 1 ? "" : "s"}`)
  ]
  const table = [
    `| ${header.join(" | ")} |`,
    `|${header.map((_, i) => (i < 2 ? "---" : "--:")).join("|")}|`,
    ...rows.map((row) => `| ${[row.label, row.formula, ...row.ceilings.map(formatRate)].join(" | ")} |`)
  ]
  return [
    "## Throughput ceilings on 1 to 16 cores: model, not measured",
    "",
    "Inputs:",
    `- main-busy, µs of main-thread time per task (${sources.mainBusy}): ${
      Object.entries(inputs.mainBusy).map(([pool, value]) => `${pool} ${micros(value)}`).join(", ")
    }`,
    `- subtask, µs per spawn + join inside a worker (${sources.subtask}): ${micros(inputs.subtask)}`,
    `- steal, µs a steal adds to a subtask (${sources.steal}): ${micros(inputs.steal)}`,
    "",
    "Formulas: main-thread submissions 1 / main-busy on any number of cores (one main thread); subtasks from the",
    "worker's own deque cores / subtask; all stolen cores / (subtask + steal); through the main thread",
    "min(cores / subtask, 1 / main-busy). cores: cores running workers. No-op tasks: tasks of t µs are also bound by",
    "cores / t.",
    "",
    ...table,
    ""
  ].join("\n")
}

/** The fields of run.ts's JSON report that the model reads. */
interface Report {
  readonly results: ReadonlyArray<{ readonly benchmark: string; readonly medians: Readonly<Record<string, number>> }>
}

const parseArgs = (args: ReadonlyArray<string>) => {
  const flag = (name: string) => {
    const i = args.indexOf(`--${name}`)
    return i >= 0 ? args[i + 1] : undefined
  }
  const number = (name: string) => {
    const value = flag(name)
    if (value === undefined) return undefined
    const parsed = Number(value)
    if (!(Number.isFinite(parsed) && parsed > 0)) throw new Error(`--${name} ${value}: expected a positive number`)
    return parsed
  }
  const mainBusy = flag("main-busy")?.split(",").map((pair) => {
    const [pool, value] = pair.split("=")
    const parsed = Number(value)
    if (pool === undefined || pool === "" || !(Number.isFinite(parsed) && parsed > 0)) {
      throw new Error(`--main-busy ${pair}: expected pool=µs`)
    }
    return [pool, parsed] as const
  })
  const cores = flag("cores")?.split(",").map(Number)
  if (cores !== undefined && !cores.every((c) => Number.isInteger(c) && c > 0)) {
    throw new Error(`--cores ${flag("cores")}: expected positive integers`)
  }
  return {
    results: flag("results"),
    mainBusy: mainBusy === undefined ? undefined : Object.fromEntries(mainBusy),
    subtask: number("subtask"),
    steal: number("steal"),
    cores
  }
}

/** The model's inputs from the command line and, for what the flags leave out, the bench's report. */
export const inputsFrom = (args: ReadonlyArray<string>): { inputs: ModelInputs; sources: Sources } => {
  const flags = parseArgs(args)
  const path = flags.results ?? fileURLToPath(new URL("./results/latest.json", import.meta.url))
  const needsReport = flags.mainBusy === undefined || flags.subtask === undefined
  let report: Report | undefined
  if (needsReport || flags.results !== undefined) {
    if (!existsSync(path)) {
      throw new Error(
        `${path}: no report. Run \`npm run bench -- --bench main-busy,subtask\` first, or pass --results <file>, ` +
          "or --main-busy pool=µs,... and --subtask µs"
      )
    }
    report = JSON.parse(readFileSync(path, "utf8")) as Report
  }
  const row = (name: string) => report?.results.find((result) => result.benchmark === name)?.medians
  const missing = (name: string) =>
    new Error(`${path} has no \`${name}\` row: run \`npm run bench -- --bench ${name}\`, or pass --${name}`)
  const mainBusy = flags.mainBusy ?? row("main-busy")
  if (mainBusy === undefined || Object.keys(mainBusy).length === 0) throw missing("main-busy")
  const subtask = flags.subtask ?? row("subtask")?.["effect-compute"]
  if (subtask === undefined) throw missing("subtask")
  const measuredSteal = row("steal")?.["effect-compute"]
  const steal = flags.steal ?? measuredSteal ?? defaultSteal
  const measured = (name: string) => `measured: the ${name} row of ${path}`
  return {
    inputs: { mainBusy, subtask, steal, cores: flags.cores ?? defaultCores },
    sources: {
      mainBusy: flags.mainBusy !== undefined ? "--main-busy" : measured("main-busy"),
      subtask: flags.subtask !== undefined ? "--subtask" : measured("subtask"),
      steal: flags.steal !== undefined
        ? "--steal"
        : measuredSteal !== undefined
        ? measured("steal")
        : `assumed, ${defaultSteal} µs: no bench row measures it yet; --steal sets it`
    }
  }
}

if (import.meta.main) {
  try {
    const { inputs, sources } = inputsFrom(process.argv.slice(2))
    console.log(render(inputs, sources))
  } catch (error) {
    console.error(`bench:model: ${(error as Error).message}`)
    process.exit(2)
  }
}
