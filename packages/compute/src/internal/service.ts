/**
 * The `ComputePool` service tag and the types of its shape: a leaf that both threads import. The main thread builds
 * the service (`ComputePool.ts`, `internal/main/`); a worker provides it to its handlers (`internal/worker/`), so that
 * a task forks subtasks on the pool it runs in — without loading the main thread's scheduler to get the tag.
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type { Transferable } from "node:worker_threads"
import type { ComputeError } from "../ComputeError.ts"
import type * as ComputeMetrics from "../ComputeMetrics.ts"
import type * as ComputeTask from "../ComputeTask.ts"

/**
 * A snapshot of the pool's state and of how every submitted task ended. `submitted` always equals the sum of the
 * outcomes plus the tasks still `active` or queued.
 *
 * @category models
 * @since 0.1.0
 */
export interface PoolStats {
  readonly threads: number
  readonly liveWorkers: number
  readonly activeTasks: number
  readonly queuedTasks: number
  readonly workerRestarts: number
  /** workers retired after `maxTasksPerWorker`, `maxWorkerAge` or `recycleAboveHeapMb`, and replaced (not crashes) */
  readonly workerRecycles: number
  readonly submitted: number
  readonly succeeded: number
  /** the task's typed failure, or a `ComputeError` other than a crash (encoding, not served) */
  readonly failed: number
  readonly defects: number
  readonly interrupted: number
  readonly crashed: number
  /** never dispatched: the pool was closed, the queue was full (fail-fast), or the payload could not be encoded */
  readonly rejected: number
  /** tasks taken back, unstarted, from a worker busy in a long task and run by an idle one (not an outcome) */
  readonly stolen: number
}

/**
 * The compute pool.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { ComputePool } from "effect-compute"
 * import { Fib } from "./tasks.ts"
 *
 * const program = Effect.gen(function*() {
 *   const pool = yield* ComputePool.ComputePool
 *   return yield* pool.execute(Fib, 30)
 * })
 * ```
 *
 * @category services
 * @since 0.1.0
 */
export class ComputePool extends Context.Service<ComputePool, {
  /** The number of worker threads (`0` for `layerInline`). */
  readonly threads: number
  /** Runs a task with a payload; see the module-level `ComputePool.execute`. */
  readonly execute: <T extends ComputeTask.Any>(
    task: T,
    payload: ComputeTask.Payload<T>,
    options?: ExecuteOptions
  ) => Effect.Effect<ComputeTask.Success<T>, ComputeTask.Failure<T> | ComputeError>
  /**
   * Runs a task on each payload of a chunk, in one message to one worker, in order; succeeds with every result, or
   * fails with the first item that did not succeed. The building block of `ComputeParallel.map`.
   */
  readonly executeChunk: <T extends ComputeTask.Any>(
    task: T,
    payloads: ReadonlyArray<ComputeTask.Payload<T>>
  ) => Effect.Effect<Array<ComputeTask.Success<T>>, ComputeTask.Failure<T> | ComputeError>
  /** Runs a task once on every live worker; see the module-level `ComputePool.broadcast`. */
  readonly broadcast: <T extends ComputeTask.Any>(
    task: T,
    payload: ComputeTask.Payload<T>,
    options?: BroadcastOptions
  ) => Effect.Effect<Array<ComputeTask.Success<T>>, ComputeTask.Failure<T> | ComputeError>
  readonly stats: Effect.Effect<PoolStats>
  /** The Rust runtime's metrics fields, with queue-wait and run-time percentiles; see `ComputeMetrics.Snapshot`. */
  readonly metrics: Effect.Effect<ComputeMetrics.Snapshot>
}>()("effect-compute/ComputePool") {}

/**
 * Options of one call.
 *
 * @category models
 * @since 0.1.0
 */
export interface ExecuteOptions {
  /**
   * `ArrayBuffer`s (and other transferables) in the encoded payload to move to the worker instead of copying them.
   * After the call starts, the caller may no longer touch them: a moved `ArrayBuffer` is detached here (its
   * `byteLength` is 0, and typed arrays over it are empty). Use it for large buffers the caller is done with; for
   * memory both sides keep using, use `ComputeParallel.shared` instead. A task that moves buffers stays on the worker
   * it was sent to (its buffers live there now): it is never stolen by an idle worker.
   */
  readonly transfer?: ReadonlyArray<Transferable> | undefined
  /**
   * Higher runs first: a queued task with a higher priority is dispatched before those of lower ones, so callers
   * that share a pool (interactive requests beside a batch job) stay responsive. Aging keeps low priorities from
   * starving: a queued task gains one level per `priorityAging` it waits. Subtasks run at their parent's priority.
   * Default 0.
   */
  readonly priority?: number | undefined
}

/**
 * Options of `ComputePool.broadcast`.
 *
 * @category models
 * @since 0.1.0
 */
export interface BroadcastOptions {
  /**
   * Also run it on every worker that starts from now on (a replacement after a crash or a recycle, or a worker an
   * elastic pool adds), before that worker takes any other task: so workers come back in the state the broadcast put
   * them in. The latest kept broadcast of each task is kept.
   */
  readonly keep?: boolean | undefined
}
