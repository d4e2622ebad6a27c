/**
 * The worker side: a worker entry file calls {@link serve} with the tasks it runs and, optionally, a per-worker
 * `Layer` of resources (a tokenizer, a model) built once when the worker starts and rebuilt when a worker is
 * replaced.
 *
 * @since 0.1.0
 * @module
 */
import type * as Layer from "effect/Layer"
import { isMainThread, parentPort } from "node:worker_threads"
import type * as ComputeTask from "./ComputeTask.ts"
import type { ComputePool } from "./internal/service.ts"
import { InboxReader } from "./internal/shared/inbox.ts"
import { Region } from "./internal/shared/region.ts"
import * as Protocol from "./internal/wire/protocol.ts"
import { serveCaptureKey, type ServedEntry } from "./internal/wire/serveCapture.ts"
import * as WorkerRuntime from "./internal/worker/workerRuntime.ts"

/**
 * Options of {@link serve}: the tasks, and the per-worker Layer when any task's handler needs services.
 *
 * @category models
 * @since 0.1.0
 */
export type ServeOptions<Tasks extends ReadonlyArray<ComputeTask.Any>> = [WorkerServices<Tasks>] extends [never] ? {
    readonly tasks: Tasks
    readonly layer?: Layer.Layer<any, unknown, never> | undefined
  } :
  {
    readonly tasks: Tasks
    readonly layer: Layer.Layer<WorkerServices<Tasks>, unknown, never>
  }

/**
 * The services a worker entry's Layer must provide: what the tasks need, less `ComputePool`, which every worker
 * provides to its tasks itself (a task can use the pool to run subtasks).
 *
 * @category models
 * @since 0.1.0
 */
export type WorkerServices<Tasks extends ReadonlyArray<ComputeTask.Any>> = Exclude<
  ComputeTask.Services<Tasks[number]>,
  ComputePool
>

/** What `serve` was given instead of its options, for its error message. */
const shapeOf = (value: unknown): string => {
  if (Array.isArray(value)) return "an array"
  if (value === null) return "null"
  return typeof value === "object" ? "an object without a tasks array" : typeof value
}

/**
 * Serves tasks in this worker. Call it once, at the top level of the pool's worker entry file (the file passed as
 * `entry` to `ComputePool.layer`).
 *
 * If the Layer fails to build, the worker reports the cause and the pool's Layer fails to start with it.
 *
 * @example
 * ```ts
 * // worker.ts — the pool's entry file
 * import { ComputeWorker } from "effect-compute"
 * import { Fib, Tokenize, TokenizerLive } from "./tasks.ts"
 *
 * ComputeWorker.serve({ tasks: [Fib, Tokenize], layer: TokenizerLive })
 * ```
 *
 * @category serving
 * @since 0.1.0
 */
export const serve = <const Tasks extends ReadonlyArray<ComputeTask.Any>>(options: ServeOptions<Tasks>): void => {
  // Plain JavaScript gets no type error: name the mistake here, not as "not iterable" deep in the worker's start-up.
  if (typeof options !== "object" || options === null || !Array.isArray(options.tasks)) {
    const given: unknown = options
    const hint = Array.isArray(given) ? ": wrap the array, as ComputeWorker.serve({ tasks: [Fib] })" : ""
    throw new TypeError(`ComputeWorker.serve takes { tasks: [...], layer? }${hint}, not ${shapeOf(given)}`)
  }
  const capture = (globalThis as any)[serveCaptureKey] as { served?: ServedEntry } | undefined
  if (isMainThread && capture !== undefined) {
    // A pool disabled by `threads: 0` imported this entry to run its tasks inline.
    capture.served = { tasks: options.tasks, layer: options.layer }
    return
  }
  const port = parentPort
  if (isMainThread || port === null) {
    throw new Error(
      "ComputeWorker.serve must run in a worker started by ComputePool (call it in the pool's entry file, " +
        "not in a module the main thread imports)"
    )
  }
  // The pool's first message says who this worker is and where its shared claim cells live.
  port.once("message", (init: Protocol.ToWorker) => {
    if (init[0] !== Protocol.Init) {
      throw new Error(`ComputeWorker.serve: expected the pool's Init message first, got ${Protocol.safeString(init)}`)
    }
    WorkerRuntime.start({
      port,
      workerId: init[1],
      claims: new Int32Array(init[2]),
      threads: init[3],
      region: new Region(init[4]),
      inbox: init[5] === undefined ? undefined : new InboxReader(init[5]),
      idleSpinMicros: init[6],
      cores: init[7],
      tasks: options.tasks,
      layer: options.layer
    })
  })
}
