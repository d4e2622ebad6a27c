/**
 * The demo behind `npm start`: starts the LLM-style service on localhost, drives it with the built-in load generator,
 * then runs the same load against the same service with its tasks inline on the event loop, and prints what each
 * endpoint did and what `/health` felt in both cases — then the pool's metrics.
 *
 * Run: `npm start` or `node packages/examples/src/llm-service/main.ts --help`.
 */
import { Console, Context, Effect, Layer } from "effect"
import { type ComputeMetrics, ComputePool } from "effect-compute"
import { HttpServer } from "effect/http"
import { parseArgs } from "node:util"
import * as Load from "./load.ts"
import * as Server from "./Server.ts"

const usage = `Usage: npm start -- [options]

Starts the LLM-style service (POST /tokenize, /embed, /infer; GET /metrics, /health) on localhost, loads it with
the built-in generator, then loads the same service with its tasks inline on the event loop, and prints the results.

Options:
  --duration <s>         seconds of load on the pool (default 15)
  --inline-duration <s>  seconds of the same load inline, for the /health comparison; 0 skips it (default 5)
  --threads <n>          pool threads (default: half the cores, at least 2)
  --connections <n>      concurrent clients (default 16)
  --help                 this text`

interface DemoOptions {
  readonly seconds: number
  readonly inlineSeconds: number
  readonly threads: number | undefined
  readonly connections: number
}

const number = (name: string, value: string | undefined, fallback: number | undefined, min: number) => {
  if (value === undefined) return fallback
  const parsed = Number(value)
  if (!Number.isFinite(parsed) || parsed < min) throw new Error(`--${name} must be a number >= ${min}, got "${value}"`)
  return parsed
}

const parseOptions = (argv: ReadonlyArray<string>): DemoOptions | "help" => {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      duration: { type: "string" },
      "inline-duration": { type: "string" },
      threads: { type: "string" },
      connections: { type: "string" },
      help: { type: "boolean" }
    }
  })
  if (values.help === true) return "help"
  return {
    seconds: number("duration", values.duration, 15, 1)!,
    inlineSeconds: number("inline-duration", values["inline-duration"], 5, 0)!,
    threads: number("threads", values.threads, undefined, 1),
    connections: number("connections", values.connections, 16, 1)!
  }
}

const totalRequests = (result: Load.LoadResult) =>
  result.endpoints.reduce((sum, endpoint) => sum + endpoint.summary.requests, 0)

/** Serves with `pool` or inline, loads the service for `seconds`, and returns what the load measured. */
const phase = (label: string, server: Server.ServerOptions, options: DemoOptions, seconds: number) =>
  Effect.scoped(Effect.gen(function*() {
    const context = yield* Layer.build(Server.layer({ ...server, port: 0, quiet: true }))
    const address = Context.get(context, HttpServer.HttpServer).address
    if (address._tag === "UnixPathAddress") return yield* Effect.die("the demo server must listen on TCP")
    const pool = Context.get(context, ComputePool.ComputePool)
    // One line rewritten every second on a terminal; in a log, a line every 5 s.
    const tty = process.stdout.isTTY === true
    const progress = (update: Load.Progress) => {
      const elapsed = Math.round(update.elapsedSeconds)
      if (!tty && elapsed % 5 !== 0) return
      process.stdout.write(
        `${tty ? "\r" : ""}${label}: ${String(elapsed).padStart(3)}s / ${seconds}s  ${update.requests} requests` +
          `  ${update.errors} errors  /health p99 (last 200) ${update.healthP99.toFixed(1)} ms${tty ? "   " : "\n"}`
      )
    }
    const result = yield* Effect.promise(() =>
      Load.run(Load.demoEndpoints(), {
        port: address.port,
        seconds,
        connections: options.connections,
        onProgress: progress
      })
    )
    if (tty) process.stdout.write("\r\x1b[K")
    yield* Console.log(`${label}: done, ${totalRequests(result)} requests`)
    return { result, metrics: yield* pool.metrics, threads: pool.threads }
  }))

const table = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>) => {
  const widths = header.map((cell, i) => Math.max(cell.length, ...rows.map((row) => row[i]!.length)))
  const line = (row: ReadonlyArray<string>) =>
    row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  ")
  return [line(header), ...rows.map(line)].join("\n")
}

const ms = (value: number) => value.toFixed(value < 10 ? 2 : 1)

const endpointTable = (result: Load.LoadResult) =>
  table(
    ["endpoint", "requests", "req/s", "p50 ms", "p99 ms", "errors"],
    [...result.endpoints, { name: "GET /health (probe)", summary: result.health }].map(({ name, summary }) => [
      name,
      String(summary.requests),
      summary.perSecond.toFixed(0),
      ms(summary.p50),
      ms(summary.p99),
      String(summary.errors)
    ])
  )

const healthRow = (name: string, result: Load.LoadResult) => [
  name,
  (totalRequests(result) / result.seconds).toFixed(0),
  ms(result.health.p50),
  ms(result.health.p99),
  ms(result.health.max),
  ms(result.eventLoopDelay.p99)
]

const healthTable = (pooled: Load.LoadResult, inline: Load.LoadResult | undefined) => {
  const rows = [healthRow("on the pool", pooled)]
  if (inline !== undefined) {
    rows.push(healthRow("inline on the event loop", inline))
    rows.push([
      "inline / pool",
      "",
      `${(inline.health.p50 / pooled.health.p50).toFixed(1)}×`,
      `${(inline.health.p99 / pooled.health.p99).toFixed(1)}×`,
      "",
      `${(inline.eventLoopDelay.p99 / pooled.eventLoopDelay.p99).toFixed(1)}×`
    ])
  }
  return table(
    ["same load, same work", "req/s", "health p50 ms", "health p99 ms", "health max", "loop delay p99"],
    rows
  )
}

const metricsLines = (metrics: ComputeMetrics.Snapshot) =>
  [
    `tasks_total ${metrics.tasks_total}  (success ${metrics.outcomes.success}, failure ${metrics.outcomes.failure}, ` +
    `defect ${metrics.outcomes.defect}, interrupted ${metrics.outcomes.interrupted}, crashed ${metrics.outcomes.crashed}, ` +
    `rejected ${metrics.outcomes.rejected})`,
    `tasks_active ${metrics.tasks_active}  tasks_queued ${metrics.tasks_queued}  slow_tasks ${metrics.slow_tasks}  ` +
    `worker_restarts ${metrics.worker_restarts}`,
    `queue wait µs  p50 ${metrics.queue_wait_us.p50.toFixed(0)}  p99 ${metrics.queue_wait_us.p99.toFixed(0)}  ` +
    `max ${metrics.queue_wait_us.max.toFixed(0)}`,
    `run time µs    p50 ${metrics.run_time_us.p50.toFixed(0)}  p99 ${metrics.run_time_us.p99.toFixed(0)}  ` +
    `max ${metrics.run_time_us.max.toFixed(0)}  (avg ${metrics.avg_task_duration_us.toFixed(0)})`,
    `worker utilisation ${metrics.worker_utilization.map((u) => `${(u * 100).toFixed(0)}%`).join(" ")}`
  ].join("\n")

export const demo = (options: DemoOptions) =>
  Effect.gen(function*() {
    yield* Console.log(
      `Load: ${options.connections} clients cycling POST /tokenize (16 texts), /embed (8 texts + contexts), ` +
        `/infer (64 items); GET /health every 10 ms.`
    )
    const pooled = yield* phase("pool", { threads: options.threads }, options, options.seconds)
    const inline = options.inlineSeconds > 0
      ? (yield* phase("inline", { inline: true }, options, options.inlineSeconds)).result
      : undefined
    yield* Console.log(`\nThe service on a pool of ${pooled.threads} threads, ${pooled.result.seconds.toFixed(1)} s:\n`)
    yield* Console.log(endpointTable(pooled.result))
    yield* Console.log(`\nWhy the pool: /health under the same load, with the same work on the pool vs inline:\n`)
    yield* Console.log(healthTable(pooled.result, inline))
    yield* Console.log(`\nThe pool's metrics (ComputePool.metrics) after the run:\n`)
    yield* Console.log(metricsLines(pooled.metrics))
  })

if (import.meta.main) {
  let options: DemoOptions | "help"
  try {
    options = parseOptions(process.argv.slice(2))
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : String(error)}\n\n${usage}`)
    process.exit(2)
  }
  if (options === "help") console.log(usage)
  else {
    Effect.runPromise(demo(options)).catch((error) => {
      console.error(error)
      process.exitCode = 1
    })
  }
}
