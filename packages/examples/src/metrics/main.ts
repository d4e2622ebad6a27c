/**
 * Exporting the pool's metrics: Prometheus text on an HTTP endpoint (`GET /metrics`), served by effect's HTTP router
 * on @effect/platform-node, and — when `OTEL_EXPORTER_OTLP_ENDPOINT` is set — OTLP to a collector.
 *
 * Run: `node packages/examples/src/metrics/main.ts` (prints the compute_* lines it scraped from itself).
 */
import { NodeHttpServer } from "@effect/platform-node"
import { Console, Effect, Layer } from "effect"
import { ComputePool } from "effect-compute"
import { FetchHttpClient, HttpRouter, HttpServer } from "effect/http"
import { Otlp, PrometheusMetrics } from "effect/observability"
import { createServer } from "node:http"
import { CountPrimes, Fib } from "../quickstart/tasks.ts"

const Pool = ComputePool.layer({ entry: new URL("../quickstart/worker.ts", import.meta.url), threads: 2 })

// GET /metrics in Prometheus text, on a port the OS picks.
const MetricsServer = HttpRouter.serve(PrometheusMetrics.layerHttp()).pipe(
  Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" }))
)

// OTLP (metrics and traces) only when a collector is configured: nothing here reaches one by default.
const collector = process.env["OTEL_EXPORTER_OTLP_ENDPOINT"] || undefined
const Otel = collector === undefined
  ? Layer.empty
  : Otlp.layerJson({ baseUrl: collector, resource: { serviceName: "effect-compute-example" } }).pipe(
    Layer.provide(FetchHttpClient.layer)
  )

export const program = Effect.gen(function*() {
  yield* Effect.all([30, 31, 32].map((n) => ComputePool.execute(Fib, n)), { concurrency: "unbounded" })
  yield* ComputePool.execute(CountPrimes, 200_000)
  yield* Effect.exit(ComputePool.execute(Fib, -1))
  const server = yield* HttpServer.HttpServer
  const address = server.address as { readonly port: number }
  const text = yield* Effect.promise(() => fetch(`http://127.0.0.1:${address.port}/metrics`).then((r) => r.text()))
  const lines = text.split("\n").filter((line) => line.startsWith("compute_tasks_completed_total"))
  yield* Console.log(lines.join("\n"))
}).pipe(Effect.provide(Layer.mergeAll(Pool, MetricsServer, Otel)))

if (import.meta.main) Effect.runPromise(program)
