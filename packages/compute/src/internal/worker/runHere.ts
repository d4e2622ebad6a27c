/**
 * Runs a task's handler on the calling thread, as an Effect: a plain value, a Promise (aborted on interruption) or
 * an Effect; a throw becomes a `TaskDefect`. Used by `ComputePool.layerInline` and `ComputePlacement.small`; the
 * worker runtime calls handlers through the same mechanism (handlerCall.ts).
 */
import * as Effect from "effect/Effect"
import { TaskDefect } from "../../ComputeError.ts"
import type * as ComputeTask from "../../ComputeTask.ts"
import * as Protocol from "../wire/protocol.ts"
import * as HandlerCall from "./handlerCall.ts"

const defect = (task: ComputeTask.Any, thrown: unknown): TaskDefect => {
  const info = Protocol.errorInfo(thrown)
  return new TaskDefect({
    task: task.name,
    workerId: -1,
    errorName: info.name,
    message: info.message,
    workerStack: info.stack
  })
}

/** On the calling thread every ending is an Effect for the caller's fiber; a task's run is its AbortController. */
const here: HandlerCall.Handling<AbortController, Effect.Effect<any, any, any>> = {
  success: (_task, _abort, value) => Effect.succeed(value),
  defect: (task, _abort, thrown) => Effect.die(defect(task, thrown)),
  // Never seen: only the caller's interruption aborts, and the interrupted fiber takes no resumption after it.
  interrupted: () => Effect.interrupt,
  effect: (task, _abort, effect) =>
    Effect.catchDefect(effect, (thrown) => Effect.die(thrown instanceof TaskDefect ? thrown : defect(task, thrown))),
  promise: (task, abort, promise) =>
    Effect.callback<unknown, unknown, unknown>((resume) => {
      HandlerCall.settle(task, abort, promise, here, resume)
      return Effect.sync(() => abort.abort())
    }),
  aborted: (abort) => abort.signal.aborted
}

export const runHere = (task: ComputeTask.Any, payload: unknown): Effect.Effect<any, any, any> =>
  Effect.suspend(() => {
    const abort = new AbortController()
    const context: ComputeTask.TaskContext = {
      workerId: -1,
      signal: abort.signal,
      isInterrupted: () => abort.signal.aborted
    }
    return HandlerCall.invoke(task, payload, context, abort, here)
  })
