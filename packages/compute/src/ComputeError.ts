/**
 * The errors a compute pool can raise besides a task's own typed failure.
 *
 * Every reason is a schema-backed tagged error, so it can cross the thread boundary and be matched with
 * `Effect.catchTag("ComputeError")` then `error.reason._tag`. A handler that throws (or dies) is not a
 * `ComputeError`: it reaches the caller as a defect, a {@link TaskDefect} carrying the worker-side name,
 * message and stack.
 *
 * @since 0.1.0
 * @module
 */
import { hasProperty } from "effect/Predicate"
import * as Schema from "effect/Schema"

const TypeId = "~effect-compute/ComputeError" as const

/**
 * The worker running the task died: an uncaught exception outside any task, `process.exit`, out of memory under
 * its heap limit, or it was terminated because an interrupted task ignored the signal. Only the tasks that were
 * on that worker fail with it; the worker is replaced.
 *
 * @category errors
 * @since 0.1.0
 */
export class WorkerCrashed extends Schema.Error<WorkerCrashed>("effect-compute/WorkerCrashed")({
  _tag: Schema.tag("WorkerCrashed"),
  message: Schema.String,
  task: Schema.String,
  workerId: Schema.Number,
  exitCode: Schema.optional(Schema.Number),
  cause: Schema.optional(Schema.Defect())
}) {}

/**
 * The pool is closed (its Layer's scope closed) or closing: the task was not run, or it was still queued or running
 * when the shutdown drain timeout ran out.
 *
 * @category errors
 * @since 0.1.0
 */
export class PoolClosed extends Schema.Error<PoolClosed>("effect-compute/PoolClosed")({
  _tag: Schema.tag("PoolClosed"),
  message: Schema.String,
  task: Schema.String
}) {}

/**
 * The queue was full and the pool was configured to fail fast (`onQueueFull: "fail"`) instead of suspending the
 * caller.
 *
 * @category errors
 * @since 0.1.0
 */
export class QueueFull extends Schema.Error<QueueFull>("effect-compute/QueueFull")({
  _tag: Schema.tag("QueueFull"),
  message: Schema.String,
  task: Schema.String,
  capacity: Schema.Number
}) {}

/**
 * A value could not cross the thread boundary: the payload failed its Schema's encoding or could not be
 * structured-cloned (`direction: "payload"`), or the handler's result or failure could not be encoded or sent back
 * (`direction: "result"`). The message names the task and what could not be sent.
 *
 * @category errors
 * @since 0.1.0
 */
export class EncodingError extends Schema.Error<EncodingError>("effect-compute/EncodingError")({
  _tag: Schema.tag("EncodingError"),
  message: Schema.String,
  task: Schema.String,
  direction: Schema.Literals(["payload", "result"]),
  cause: Schema.optional(Schema.Defect())
}) {}

/**
 * The worker entry does not serve the task: the task was passed to `execute` but is not in the list given to
 * `ComputeWorker.serve` in the pool's worker entry file.
 *
 * @category errors
 * @since 0.1.0
 */
export class TaskNotServed extends Schema.Error<TaskNotServed>("effect-compute/TaskNotServed")({
  _tag: Schema.tag("TaskNotServed"),
  message: Schema.String,
  task: Schema.String
}) {}

/**
 * A worker could not start: its entry file failed to load, or its per-worker Layer failed to build. When this
 * happens while the pool starts, the Layer fails with it.
 *
 * @category errors
 * @since 0.1.0
 */
export class WorkerStartFailed extends Schema.Error<WorkerStartFailed>("effect-compute/WorkerStartFailed")({
  _tag: Schema.tag("WorkerStartFailed"),
  message: Schema.String,
  workerId: Schema.Number,
  cause: Schema.optional(Schema.Defect())
}) {}

/**
 * The task is quarantined: it crashed its worker `crashes` times within the pool's quarantine window (a native crash,
 * an out-of-memory on its inputs), so for a cooling period calls to it fail at once instead of killing more workers.
 * Other tasks run on. See the `quarantine` option of `ComputePool.layer`.
 *
 * @category errors
 * @since 0.1.0
 */
export class TaskQuarantined extends Schema.Error<TaskQuarantined>("effect-compute/TaskQuarantined")({
  _tag: Schema.tag("TaskQuarantined"),
  message: Schema.String,
  task: Schema.String,
  crashes: Schema.Number,
  /** how long the quarantine still lasts, in milliseconds */
  remainingMs: Schema.Number
}) {}

/**
 * An option or configuration value is invalid: the message names the key, the value and the rule it breaks.
 *
 * @category errors
 * @since 0.1.0
 */
export class InvalidOptions extends Schema.Error<InvalidOptions>("effect-compute/InvalidOptions")({
  _tag: Schema.tag("InvalidOptions"),
  message: Schema.String,
  key: Schema.String
}) {}

/**
 * The reasons a {@link ComputeError} can carry.
 *
 * @category errors
 * @since 0.1.0
 */
export type ComputeErrorReason =
  | WorkerCrashed
  | PoolClosed
  | QueueFull
  | EncodingError
  | TaskNotServed
  | WorkerStartFailed
  | TaskQuarantined
  | InvalidOptions

/**
 * Schema of {@link ComputeErrorReason}.
 *
 * @category schemas
 * @since 0.1.0
 */
export const ComputeErrorReason = Schema.Union([
  WorkerCrashed,
  PoolClosed,
  QueueFull,
  EncodingError,
  TaskNotServed,
  WorkerStartFailed,
  TaskQuarantined,
  InvalidOptions
])

/**
 * The pool's own error: one tag to catch, with the specific `reason` inside.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { ComputePool } from "effect-compute"
 * import { Fib } from "./tasks.ts"
 *
 * const program = ComputePool.execute(Fib, 30).pipe(
 *   Effect.catchTag("ComputeError", (error) =>
 *     error.reason._tag === "WorkerCrashed" ? Effect.succeed(-1) : Effect.fail(error))
 * )
 * ```
 *
 * @category errors
 * @since 0.1.0
 */
export class ComputeError extends Schema.Error<ComputeError>(TypeId)({
  _tag: Schema.tag("ComputeError"),
  reason: ComputeErrorReason
}) {
  readonly [TypeId]: typeof TypeId = TypeId

  override get message(): string {
    return this.reason.message
  }
}

/**
 * Whether a value is a {@link ComputeError}.
 *
 * @example
 * ```ts
 * import { Cause, Effect, Exit } from "effect"
 * import { ComputeError, ComputePool } from "effect-compute"
 * import { Fib } from "./tasks.ts"
 *
 * const reason = Effect.map(Effect.exit(ComputePool.execute(Fib, 40)), (exit) => {
 *   const error = Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
 *   return ComputeError.isComputeError(error) ? error.reason._tag : undefined
 * })
 * ```
 *
 * @category guards
 * @since 0.1.0
 */
export const isComputeError = (u: unknown): u is ComputeError => hasProperty(u, TypeId)

/**
 * The defect a caller sees when the handler threw or died in the worker: the worker-side error's name, message and
 * stack, with the task's name and the worker's id. It arrives as `Cause.Die`, like any other defect.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { ComputeError, ComputePool } from "effect-compute"
 * import { Parse } from "./tasks.ts"
 *
 * // Parse runs JSON.parse, which throws on this document: the caller gets a TaskDefect.
 * const safe = ComputePool.execute(Parse, "{ not json").pipe(
 *   Effect.catchDefect((defect) =>
 *     defect instanceof ComputeError.TaskDefect ? Effect.succeed(`worker said: ${defect.message}`) : Effect.die(defect))
 * )
 * ```
 *
 * @category errors
 * @since 0.1.0
 */
export class TaskDefect extends Schema.Error<TaskDefect>("effect-compute/TaskDefect")({
  _tag: Schema.tag("TaskDefect"),
  message: Schema.String,
  task: Schema.String,
  workerId: Schema.Number,
  errorName: Schema.String,
  workerStack: Schema.optional(Schema.String)
}) {}
