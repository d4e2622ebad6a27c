/**
 * The service's HTTP API, on effect's HTTP router: `POST /tokenize`, `POST /embed`, `POST /infer`, `GET /metrics`
 * (Prometheus text) and `GET /health`.
 *
 * Request bodies are read with a size limit and decoded with Schema: a body that is too large, is not JSON, or does
 * not match gets a 400 with a message saying which — never a crash, and no work reaches the pool. A pool that cannot
 * take the work (queue full, shutting down) answers 503.
 */
import { ByteSize, Effect, Layer, Schema } from "effect"
import { type ComputeError, ComputePool } from "effect-compute"
import { HttpIncomingMessage, HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import { PrometheusMetrics } from "effect/observability"
import { LlmService } from "./LlmService.ts"

/** What one request may carry. */
export const limits = { bodyBytes: 256 * 1024, texts: 64, items: 256, textLength: 8_000 } as const

const Text = Schema.String.check(Schema.isMaxLength(limits.textLength))
const between = (max: number) => [Schema.isNonEmpty(), Schema.isMaxLength(max)] as const

export const TokenizeRequest = Schema.Struct({ texts: Schema.Array(Text).check(...between(limits.texts)) })
export const EmbedRequest = Schema.Struct({
  inputs: Schema.Array(Schema.Struct({ text: Text, context: Schema.optional(Text) })).check(...between(limits.texts))
})
export const InferRequest = Schema.Struct({ items: Schema.Array(Text).check(...between(limits.items)) })

const failure = (status: number, message: string) => HttpServerResponse.jsonUnsafe({ error: message }, { status })

/** Reads the body (at most `limits.bodyBytes`), decodes it with `schema`, runs `work`, answers its result as JSON. */
const endpoint = <T, A>(
  schema: Schema.Codec<T, unknown>,
  work: (body: T) => Effect.Effect<A, ComputeError.ComputeError, LlmService>
) =>
  HttpServerRequest.schemaBodyJson(schema).pipe(
    Effect.provideService(HttpIncomingMessage.MaxBodySize, ByteSize.bytes(limits.bodyBytes)),
    Effect.flatMap(work),
    Effect.map((result) => HttpServerResponse.jsonUnsafe(result)),
    Effect.catchTags({
      SchemaError: (error) => Effect.succeed(failure(400, `the request body does not match: ${error.message}`)),
      HttpServerError: (error) =>
        Effect.succeed(failure(
          400,
          error.reason._tag === "RequestParseError" && error.reason.reason === "BodyTooLarge"
            ? `the request body is larger than ${limits.bodyBytes} bytes`
            : "the request body is not valid JSON"
        )),
      ComputeError: (error) => Effect.succeed(failure(503, error.message))
    })
  )

const routes = HttpRouter.addAll([
  HttpRouter.route(
    "POST",
    "/tokenize",
    endpoint(
      TokenizeRequest,
      (body) =>
        LlmService.use((service) =>
          Effect.map(service.tokenize(body.texts), (tokens) => ({
            tokens,
            counts: tokens.map((ids) => ids.length)
          }))
        )
    )
  ),
  HttpRouter.route(
    "POST",
    "/embed",
    endpoint(
      EmbedRequest,
      (body) => LlmService.use((service) => Effect.map(service.embed(body.inputs), (embeddings) => ({ embeddings })))
    )
  ),
  HttpRouter.route(
    "POST",
    "/infer",
    endpoint(
      InferRequest,
      (body) => LlmService.use((service) => Effect.map(service.infer(body.items), (predictions) => ({ predictions })))
    )
  ),
  // Does no compute on purpose: its latency is the event loop's, which the pool keeps free.
  HttpRouter.route(
    "GET",
    "/health",
    Effect.map(ComputePool.stats, (stats) =>
      HttpServerResponse.jsonUnsafe({
        status: "ok",
        threads: stats.threads,
        liveWorkers: stats.liveWorkers,
        queuedTasks: stats.queuedTasks
      }))
  )
])

/** Every route, `GET /metrics` included; needs the service and the pool. */
export const layer = Layer.mergeAll(routes, PrometheusMetrics.layerHttp())
