/**
 * Calling a task's handler, wherever it runs: in a worker (workerRuntime.ts) or on the calling thread (runHere.ts,
 * behind `ComputePool.layerInline` and `ComputePlacement.small`). A handler answers with a plain value, a Promise or
 * an Effect, or it throws. This module tells those apart, makes a throw a defect, and waits for a Promise, whose
 * outcome is an interruption once the task has been cancelled. What each ending becomes (an encoded outcome for a
 * worker's outbox, an Effect for a caller on this thread) and how an Effect handler runs are the caller's
 * {@link Handling}: one mechanism, the differences as parameters.
 */
import * as Effect from "effect/Effect"
import type * as ComputeTask from "../../ComputeTask.ts"

/**
 * What a caller makes of each way a handler can answer, as its own `R`. Built once per caller; `run` is the caller's
 * per-task state, so calling a handler allocates nothing of its own. A call reaches one member, once; a Promise
 * reaches `promise`, and then, through {@link settle}, one of `success`, `defect` or `interrupted`.
 */
export interface Handling<Run, R> {
  /** The handler returned a plain value, or its Promise resolved. */
  readonly success: (task: ComputeTask.Any, run: Run, value: unknown) => R
  /** The handler threw, or its Promise rejected. */
  readonly defect: (task: ComputeTask.Any, run: Run, thrown: unknown) => R
  /** Its Promise settled after the task was cancelled. */
  readonly interrupted: (task: ComputeTask.Any, run: Run) => R
  /** The handler returned an Effect: the caller runs it (in a worker, as a fiber; here, as part of the caller's). */
  readonly effect: (task: ComputeTask.Any, run: Run, effect: Effect.Effect<unknown, unknown, unknown>) => R
  /** The handler returned a Promise: the caller waits for it with {@link settle}. */
  readonly promise: (task: ComputeTask.Any, run: Run, promise: PromiseLike<unknown>) => R
  /** Whether the task has been cancelled (its signal aborted). */
  readonly aborted: (run: Run) => boolean
}

const isPromiseLike = (u: unknown): u is PromiseLike<unknown> =>
  u !== null && typeof u === "object" && typeof (u as { then?: unknown }).then === "function"

/** Runs the handler on a decoded payload and passes what it answered to the one matching member of `handling`. */
export const invoke = <Run, R>(
  task: ComputeTask.Any,
  payload: unknown,
  context: ComputeTask.TaskContext,
  run: Run,
  handling: Handling<Run, R>
): R => {
  let returned: unknown
  try {
    returned = task.handler(payload, context)
  } catch (thrown) {
    return handling.defect(task, run, thrown)
  }
  if (Effect.isEffect(returned)) {
    return handling.effect(task, run, returned as Effect.Effect<unknown, unknown, unknown>)
  }
  if (isPromiseLike(returned)) return handling.promise(task, run, returned)
  return handling.success(task, run, returned)
}

/** Waits for a handler's Promise and hands its ending to `then`, once: an interruption if the task was cancelled. */
export const settle = <Run, R>(
  task: ComputeTask.Any,
  run: Run,
  promise: PromiseLike<unknown>,
  handling: Handling<Run, R>,
  then: (ending: R) => void
): void => {
  promise.then(
    (value) => then(handling.aborted(run) ? handling.interrupted(task, run) : handling.success(task, run, value)),
    (thrown) => then(handling.aborted(run) ? handling.interrupted(task, run) : handling.defect(task, run, thrown))
  )
}
