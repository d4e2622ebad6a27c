/**
 * The client side: a `ComputePool` whose calls are entity RPCs. Each call picks its entity (round-robin, or by its
 * key), checks what a remote call cannot carry (a transfer list, a frame past the limit), sends the task's RPC and
 * maps what comes back to a local call's outcome, counted once on the way out.
 */
import * as Cause from "effect/Cause"
import type * as Entity from "effect/cluster/Entity"
import * as EntityId from "effect/cluster/EntityId"
import { Sharding } from "effect/cluster/Sharding"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Schema from "effect/Schema"
import { ComputeError } from "../../ComputeError.ts"
import type * as ComputeTask from "../../ComputeTask.ts"
import * as PoolState from "../main/poolState.ts"
import type { ComputePool, ExecuteOptions } from "../service.ts"
import * as Outcome from "../wire/outcome.ts"
import { CurrentCall } from "./callOptions.ts"
import * as Frames from "./frames.ts"
import * as RemoteErrors from "./remoteErrors.ts"
import { chunkTag, persistedTag, priorityHeader } from "./rpcs.ts"
import * as Slots from "./slots.ts"

export interface ClientSettings {
  readonly threads: number
  readonly shardsPerGroup: number
  readonly maxFrameSize: number | undefined
}

/** The outcome a finished remote call counts as, in the pool's vocabulary. */
const outcomeOf = (exit: Exit.Exit<unknown, unknown>): Outcome.Outcome => {
  if (Exit.isSuccess(exit)) return "success"
  if (Cause.hasInterruptsOnly(exit.cause)) return "interrupted"
  const error = Cause.findErrorOption(exit.cause)
  if (error._tag === "None") return "defect"
  if (!(error.value instanceof ComputeError)) return "failure"
  switch (error.value.reason._tag) {
    case "WorkerCrashed":
      return "crashed"
    case "PoolClosed":
    case "QueueFull":
    case "InvalidOptions":
      return "rejected"
    case "EncodingError":
      return error.value.reason.direction === "payload" ? "rejected" : "failure"
    default:
      return "failure"
  }
}

export const make = Effect.fnUntraced(function*(
  entity: Entity.Any,
  settings: ClientSettings
) {
  const sharding = yield* Sharding
  const clientFor = yield* entity.client
  const group = entity.getShardGroup(EntityId.make("slot-0"))
  const pick = Slots.picker(Slots.covering(settings.shardsPerGroup, group, sharding.getShardId))
  const counts = Outcome.noOutcomes()
  let active = 0

  const count = <A, E>(call: Effect.Effect<A, E>): Effect.Effect<A, E> =>
    Effect.suspend(() => {
      counts.submitted++
      active++
      return Effect.onExit(call, (exit) =>
        Effect.sync(() => {
          active--
          counts[outcomeOf(exit)]++
        }))
    })

  /** Refuses a payload whose frame would not fit, before anything is sent. */
  const checkFrame = (task: ComputeTask.Any, schema: ComputeTask.TaskSchema, payload: unknown) =>
    Effect.suspend(() => {
      const limit = settings.maxFrameSize
      if (limit === undefined) return Effect.void
      let bytes: number
      try {
        bytes = Frames.encodedSize(schema, payload)
      } catch (cause) {
        return Effect.fail(RemoteErrors.payloadNotEncodable(task.name, cause))
      }
      return Frames.fits(bytes, limit)
        ? Effect.void
        : Effect.fail(RemoteErrors.frameTooLarge(task.name, "payload", bytes, limit))
    })

  const chunkSchemas = new WeakMap<ComputeTask.Any, ComputeTask.TaskSchema>()
  const chunkPayload = (task: ComputeTask.Any) => {
    let schema = chunkSchemas.get(task)
    if (schema === undefined) {
      schema = Schema.Array(task.payload)
      chunkSchemas.set(task, schema)
    }
    return schema
  }

  /**
   * Sends one RPC: `measured` (what the frame limit is checked on) travels as `sent` (itself, or wrapped). A priority
   * travels as a header, for the runner's pool.
   */
  const send = (
    task: ComputeTask.Any,
    tag: string,
    schema: ComputeTask.TaskSchema,
    measured: unknown,
    sent: unknown,
    key: string | undefined,
    priority: number | undefined
  ) =>
    Effect.andThen(
      checkFrame(task, schema, measured),
      Effect.suspend(() =>
        (clientFor(pick(key)) as any)[tag](
          sent,
          priority === undefined ? undefined : { headers: { [priorityHeader]: String(priority) } }
        ) as Effect.Effect<any, unknown>
      )
    )

  const currentCall = Effect.service(CurrentCall)

  const execute = (task: ComputeTask.Any, payload: unknown, options?: ExecuteOptions) =>
    count(RemoteErrors.toLocal(
      task.name,
      options?.transfer !== undefined && options.transfer.length > 0
        ? Effect.fail(RemoteErrors.transferUnsupported(task.name))
        : Effect.flatMap(currentCall, (call) =>
          call.persisted === true && call.key !== undefined
            ? send(
              task,
              persistedTag(task.name),
              task.payload,
              payload,
              { key: call.key, payload },
              call.key,
              options?.priority
            )
            : send(task, task.name, task.payload, payload, payload, call.key, options?.priority))
    ))

  // A chunk is always volatile: a persisted key names one call, and ComputeParallel.map makes many.
  const executeChunk = (task: ComputeTask.Any, payloads: ReadonlyArray<unknown>) =>
    payloads.length === 0 ? Effect.succeed([]) : count(RemoteErrors.toLocal(
      task.name,
      Effect.flatMap(
        currentCall,
        (call) => send(task, chunkTag(task.name), chunkPayload(task), payloads, payloads, call.key, undefined)
      )
    ))

  // A client has no workers and no queue of its own: those figures are zero (spread in, so that a figure a later
  // PoolState adds for workers need not be listed here).
  const noWorkers = { liveWorkers: 0, queuedTasks: 0, workerRestarts: 0, workerRecycles: 0 }
  const state = (): PoolState.PoolState => ({ ...noWorkers, threads: settings.threads, activeTasks: active, counts })

  // Operations a cluster cannot do (spread in, so this list compiles whichever of them the service declares).
  const localOnly = {
    broadcast: (task: ComputeTask.Any) => count(Effect.fail(RemoteErrors.broadcastUnsupported(task.name)))
  }
  const pool: ComputePool["Service"] = {
    ...localOnly,
    threads: settings.threads,
    execute: execute as ComputePool["Service"]["execute"],
    executeChunk: executeChunk as ComputePool["Service"]["executeChunk"],
    stats: Effect.sync(() => PoolState.toStats(state())),
    metrics: Effect.sync(() => PoolState.toSnapshot(state(), PoolState.noDurations, []))
  }
  return pool
})
