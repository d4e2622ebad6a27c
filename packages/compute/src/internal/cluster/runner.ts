/**
 * The runner side: each RPC of a task set is a call on the runner's own `ComputePool`, so backpressure, crash
 * isolation, interruption and metrics stay where they are. A defect (the task threw, or its worker died in a way
 * that is a defect) is sent back as a failure carrying a `TaskDefect`, never as a fault of the entity: effect/cluster
 * restarts an entity on a defect and replays every call it holds, which would run the neighbours of a failed task
 * twice.
 */
import * as Effect from "effect/Effect"
import type * as Headers from "effect/http/Headers"
import * as Schema from "effect/Schema"
import { TaskDefect } from "../../ComputeError.ts"
import type * as ComputeTask from "../../ComputeTask.ts"
import type { ComputePool, ExecuteOptions } from "../service.ts"
import * as Frames from "./frames.ts"
import * as RemoteErrors from "./remoteErrors.ts"
import { chunkTag, persistedTag, priorityHeader } from "./rpcs.ts"

/** A defect that is not already a `TaskDefect`, described as one (its name, message and stack). */
const asTaskDefect = (task: string, defect: unknown): TaskDefect => {
  if (defect instanceof TaskDefect) return defect
  const error = defect instanceof Error ? defect : undefined
  return new TaskDefect({
    task,
    workerId: -1,
    errorName: error?.name ?? typeof defect,
    message: error?.message ?? String(defect),
    workerStack: error?.stack
  })
}

type Handler = (request: { readonly payload: any; readonly headers: Headers.Headers }) => Effect.Effect<any, any>

/** The call's options for the local pool: its priority, when the client sent one. */
const optionsOf = (headers: Headers.Headers): ExecuteOptions | undefined => {
  const priority = headers[priorityHeader]
  return priority === undefined ? undefined : { priority: Number(priority) }
}

/**
 * The entity's handlers for `tasks` on `pool`. With a frame limit, a result whose encoding would not fit fails that
 * call with `EncodingError` (direction "result") instead of reaching the wire.
 */
export const handlersOf = (
  tasks: ReadonlyArray<ComputeTask.Any>,
  pool: ComputePool["Service"],
  maxFrameSize: number | undefined
): Record<string, Handler> => {
  const handlers: Record<string, Handler> = {}
  for (const task of tasks) {
    const guard = <A>(schema: ComputeTask.TaskSchema, effect: Effect.Effect<A, any>) => {
      const limit = maxFrameSize
      const checked = limit === undefined ? effect : Effect.flatMap(effect, (result) => {
        const bytes = Frames.encodedSize(schema, result)
        return Frames.fits(bytes, limit)
          ? Effect.succeed(result)
          : Effect.fail(RemoteErrors.frameTooLarge(task.name, "result", bytes, limit))
      })
      return Effect.catchDefect(checked, (defect) => Effect.fail(asTaskDefect(task.name, defect)))
    }
    const chunkSuccess = Schema.Array(task.success)
    handlers[task.name] = (request) =>
      guard(task.success, pool.execute(task, request.payload, optionsOf(request.headers)))
    handlers[chunkTag(task.name)] = (request) => guard(chunkSuccess, pool.executeChunk(task, request.payload))
    handlers[persistedTag(task.name)] = (request) =>
      guard(task.success, pool.execute(task, request.payload.payload, optionsOf(request.headers)))
  }
  return handlers
}
