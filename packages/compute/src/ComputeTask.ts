/**
 * Typed task definitions, shared by the main thread and the workers.
 *
 * A task is defined once, in a module that both sides import: a unique name, a `Schema` for its payload, its
 * success and its typed failure, and a handler. The main thread uses the schemas to encode payloads and decode
 * results; the worker entry (see `ComputeWorker.serve`) runs the handler.
 *
 * @since 0.1.0
 * @module
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { ComputeError } from "./ComputeError.ts"

const TypeId = "~effect-compute/ComputeTask" as const

/**
 * A schema a task can use: any codec whose encoding and decoding need no services.
 *
 * @category models
 * @since 0.1.0
 */
export type TaskSchema = Schema.Codec<any, any, never, never>

/**
 * What a handler receives beside its payload.
 *
 * - `signal` aborts when the caller is interrupted: pass it to anything that takes an `AbortSignal`. It aborts when
 *   the worker hears of the interruption, after the handler's synchronous part at the earliest, so a listener the
 *   handler adds as it starts is never too late.
 * - `isInterrupted()` is the cooperative check for synchronous loops: it also sees an interruption that arrived
 *   while the thread was busy (it reads a shared flag, not a message), so call it every few thousand iterations.
 *   A loop that never checks is stopped anyway, by terminating its worker after the grace period.
 *
 * @category models
 * @since 0.1.0
 */
export interface TaskContext {
  readonly signal: AbortSignal
  readonly isInterrupted: () => boolean
  /** The worker running the task (`-1` on `ComputePool.layerInline`). */
  readonly workerId: number
}

/**
 * The handler of a task: returns the success value, a Promise of it, or an Effect that may fail with the task's
 * typed failure and use the per-worker services `R` — and `ComputePool`, to run subtasks. A `ComputeError` from a
 * subtask may be let through: it reaches the caller as itself.
 *
 * @category models
 * @since 0.1.0
 */
export type Handler<P, A, E, R> = (
  payload: P,
  context: TaskContext
) => A | PromiseLike<A> | Effect.Effect<A, E | ComputeError, R>

/**
 * A typed task.
 *
 * @category models
 * @since 0.1.0
 */
export interface ComputeTask<
  out Name extends string,
  in out Payload extends TaskSchema,
  in out Success extends TaskSchema,
  in out Failure extends TaskSchema,
  out R
> {
  readonly [TypeId]: typeof TypeId
  readonly name: Name
  readonly payload: Payload
  readonly success: Success
  readonly failure: Failure
  readonly handler: Handler<Payload["Type"], Success["Type"], Failure["Type"], R>
}

/**
 * Any task, whatever its types.
 *
 * @category models
 * @since 0.1.0
 */
export interface Any {
  readonly [TypeId]: typeof TypeId
  readonly name: string
  readonly payload: TaskSchema
  readonly success: TaskSchema
  readonly failure: TaskSchema
  readonly handler: Handler<any, any, any, any>
}

/**
 * The payload type a task accepts.
 *
 * @category type-level
 * @since 0.1.0
 */
export type Payload<T> = T extends ComputeTask<any, infer P, any, any, any> ? P["Type"] : never

/**
 * The type a task succeeds with.
 *
 * @category type-level
 * @since 0.1.0
 */
export type Success<T> = T extends ComputeTask<any, any, infer S, any, any> ? S["Type"] : never

/**
 * The typed failure of a task.
 *
 * @category type-level
 * @since 0.1.0
 */
export type Failure<T> = T extends ComputeTask<any, any, any, infer F, any> ? F["Type"] : never

/**
 * The per-worker services a task's handler needs.
 *
 * @category type-level
 * @since 0.1.0
 */
export type Services<T> = T extends ComputeTask<any, any, any, any, infer R> ? R : never

/**
 * Defines a task.
 *
 * `success` defaults to `Schema.Void` and `failure` to `Schema.Never`. The name must be unique among the tasks a
 * worker entry serves. Failures should be schema-backed errors (for example `Schema.TaggedError` classes) so they
 * are decoded back into their class on the caller's side.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { ComputeTask } from "effect-compute"
 *
 * class NegativeInput extends Schema.TaggedError<NegativeInput>()("NegativeInput", { n: Schema.Number }) {}
 *
 * export const Fib = ComputeTask.make("Fib", {
 *   payload: Schema.Number,
 *   success: Schema.Number,
 *   failure: NegativeInput,
 *   handler: (n) => n < 0 ? Effect.fail(new NegativeInput({ n })) : Effect.succeed(fib(n))
 * })
 * const fib = (n: number): number => (n < 2 ? n : fib(n - 1) + fib(n - 2))
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = <
  const Name extends string,
  Payload extends TaskSchema,
  Success extends TaskSchema = Schema.Void,
  Failure extends TaskSchema = Schema.Never,
  R = never
>(
  name: Name,
  options: {
    readonly payload: Payload
    readonly success?: Success | undefined
    readonly failure?: Failure | undefined
    readonly handler: Handler<Payload["Type"], Success["Type"], Failure["Type"], R>
  }
): ComputeTask<Name, Payload, Success, Failure, R> => {
  if (typeof name !== "string" || name.length === 0) {
    throw new TypeError(`ComputeTask.make: a task needs a non-empty string name, got ${String(name)}`)
  }
  if (typeof options.handler !== "function") {
    throw new TypeError(`ComputeTask.make("${name}"): handler must be a function`)
  }
  return {
    [TypeId]: TypeId,
    name,
    payload: options.payload,
    success: (options.success ?? Schema.Void) as Success,
    failure: (options.failure ?? Schema.Never) as Failure,
    handler: options.handler
  }
}

/**
 * Whether a value is a task made by {@link make}.
 *
 * @example
 * ```ts
 * import { ComputeTask } from "effect-compute"
 * import { Fib } from "./tasks.ts"
 *
 * ComputeTask.isComputeTask(Fib) // true
 * ```
 *
 * @category guards
 * @since 0.1.0
 */
export const isComputeTask = (u: unknown): u is Any => typeof u === "object" && u !== null && TypeId in u
