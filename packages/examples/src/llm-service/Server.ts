/**
 * The service put together: the HTTP routes, the service, the tokenizer library and the pool, on a Node HTTP server.
 * `inline: true` swaps the pool for `ComputePool.layerInline` — the same tasks on the event loop — to show what the
 * pool is for. Run `node packages/examples/src/llm-service/Server.ts` to serve on port 8080 until Ctrl-C.
 */
import { NodeHttpServer, NodeRuntime } from "@effect/platform-node"
import { Layer } from "effect"
import { ComputePool } from "effect-compute"
import { HttpRouter } from "effect/http"
import { createServer } from "node:http"
import * as Http from "./Http.ts"
import * as LlmService from "./LlmService.ts"
import { tasks, workerLayer } from "./tasks.ts"
import * as Tokenizer from "./Tokenizer.ts"

export interface ServerOptions {
  /** 0 lets the OS pick a free port. Default 8080. */
  readonly port?: number | undefined
  readonly host?: string | undefined
  /** Pool threads; default: the pool's own default (half the cores, at least 2). */
  readonly threads?: number | undefined
  /** Run every task on the event loop instead of the pool. */
  readonly inline?: boolean | undefined
  /** No log line per request (the load demo sends thousands). */
  readonly quiet?: boolean | undefined
}

/** The pool the service runs on: real workers, or the same tasks inline. */
export const poolLayer = (options: ServerOptions = {}) =>
  options.inline === true
    ? ComputePool.layerInline({ tasks, layer: workerLayer })
    : ComputePool.layer({ entry: new URL("./worker.ts", import.meta.url), threads: options.threads })

/** The whole service; also provides the `HttpServer` (for its address) and the `ComputePool` (for its metrics). */
export const layer = (options: ServerOptions = {}) =>
  HttpRouter.serve(Http.layer, { disableLogger: options.quiet === true, disableListenLog: options.quiet === true })
    .pipe(
      Layer.provide(LlmService.layer),
      Layer.provide(Tokenizer.layer),
      Layer.provideMerge(poolLayer(options)),
      Layer.provideMerge(
        NodeHttpServer.layer(createServer, { port: options.port ?? 8080, host: options.host ?? "127.0.0.1" })
      )
    )

if (import.meta.main) NodeRuntime.runMain(Layer.launch(layer()))
