/**
 * Runs a task's handler on the calling thread, as an Effect: a plain value, a Promise (aborted on interruption) or
 * an Effect; a throw becomes a `TaskDefect`. Used by `ComputePool.layerInline` and `ComputePlacement.small`.
 */
import * as Effect from "effect/Effect"
import { TaskDefect } from "../ComputeError.ts"
import type * as ComputeTask from "../ComputeTask.ts"
import * as Protocol from "./protocol.ts"

export const defect = (task: ComputeTask.Any, thrown: unknown): TaskDefect => {
  const info = Protocol.errorInfo(thrown)
  return new TaskDefect({
    task: task.name,
    workerId: -1,
    errorName: info.name,
    message: info.message,
    workerStack: info.stack
  })
}

export const runHere = (task: ComputeTask.Any, payload: unknown): Effect.Effect<any, any, any> =>
  Effect.suspend(() => {
    const abort = new AbortController()
    const context: ComputeTask.TaskContext = {
      workerId: -1,
      signal: abort.signal,
      isInterrupted: () => abort.signal.aborted
    }
    let returned: unknown
    try {
      returned = task.handler(payload, context)
    } catch (thrown) {
      return Effect.die(defect(task, thrown))
    }
    if (Effect.isEffect(returned)) {
      return Effect.catchDefect(returned as Effect.Effect<any, any, any>, (thrown) =>
        Effect.die(thrown instanceof TaskDefect ? thrown : defect(task, thrown)))
    }
    if (returned !== null && typeof returned === "object" && typeof (returned as any).then === "function") {
      return Effect.callback<unknown>((resume) => {
        ;(returned as PromiseLike<unknown>).then(
          (value) =>
            resume(Effect.succeed(value)),
          (thrown) => resume(Effect.die(defect(task, thrown)))
        )
        return Effect.sync(() => abort.abort())
      })
    }
    return Effect.succeed(returned)
  })
