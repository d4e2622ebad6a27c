/**
 * The wire shape of a task set on effect/cluster: one entity type per set, and for each task three RPCs over the
 * task's own schemas — a volatile call, a volatile chunk (what `ComputeParallel.map` sends) and a persisted call
 * keyed by the caller. Built in one place, so the runner's handlers and the client's calls cannot disagree.
 */
import * as ClusterSchema from "effect/cluster/ClusterSchema"
import * as Entity from "effect/cluster/Entity"
import * as Rpc from "effect/rpc/Rpc"
import * as Schema from "effect/Schema"
import { ComputeError, TaskDefect } from "../../ComputeError.ts"
import type * as ComputeTask from "../../ComputeTask.ts"

/** The tag of a task's chunk RPC (`Fib/chunk`). */
export const chunkTag = (name: string): string => `${name}/chunk`

/** The tag of a task's persisted RPC (`Fib/persisted`). */
export const persistedTag = (name: string): string => `${name}/persisted`

/** The header a call's priority travels in (`ExecuteOptions.priority`, for the runner's pool). */
export const priorityHeader = "x-effect-compute-priority"

/**
 * What a remote call can fail with: the pool's own error and a task's defect come first (their `_tag`s tell them
 * apart), then the task's typed failure. A defect travels as a failure so that it keeps its class and does not count
 * as a fault of the entity (which would restart it and replay its other calls).
 */
export const errorSchema = (task: ComputeTask.Any) => Schema.Union([ComputeError, TaskDefect, task.failure])

/** The three RPCs of one task. */
export const rpcsOf = (task: ComputeTask.Any): ReadonlyArray<Rpc.Any> => {
  const error = errorSchema(task)
  return [
    Rpc.make(task.name, { payload: task.payload, success: task.success, error }),
    Rpc.make(chunkTag(task.name), {
      payload: Schema.Array(task.payload),
      success: Schema.Array(task.success),
      error
    }),
    // The primary key is what storage deduplicates on: a second call with the same key (and so the same entity id)
    // waits on the first one's reply instead of running again.
    Rpc.make(persistedTag(task.name), {
      payload: { key: Schema.String, payload: task.payload },
      success: task.success,
      error,
      primaryKey: (call) => call.key
    }).annotate(ClusterSchema.Persisted, true)
  ]
}

/** The entity of a task set (whose names `ComputeCluster.make` has checked are distinct). */
export const entityOf = (type: string, tasks: ReadonlyArray<ComputeTask.Any>): Entity.Any =>
  Entity.make(type, tasks.flatMap(rpcsOf))
