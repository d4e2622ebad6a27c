/**
 * How a task ended, as plain data (it also crosses to a worker whose task spawned the task): read from its worker's
 * report, and turned into the caller's Effect.
 */
import * as Effect from "effect/Effect"
import {
  ComputeError,
  PoolClosed,
  QueueFull,
  TaskDefect,
  TaskNotServed,
  TaskQuarantined,
  WorkerCrashed,
  WorkerStartFailed
} from "../../ComputeError.ts"
import type * as ComputeTask from "../../ComputeTask.ts"
import * as Codec from "./codec.ts"
import * as Protocol from "./protocol.ts"

/** How a job ended, from the pool's point of view: the caller's Effect is built from it. */
export type Settlement =
  | { readonly _tag: "Success"; readonly value: unknown }
  | { readonly _tag: "Failure"; readonly error: unknown }
  | { readonly _tag: "ComputeFailure"; readonly encoded: unknown }
  | { readonly _tag: "Defect"; readonly workerId: number; readonly info: Protocol.ErrorInfo }
  | { readonly _tag: "Interrupted" }
  | { readonly _tag: "NotServed" }
  | {
    readonly _tag: "Encoding"
    readonly direction: "payload" | "result"
    readonly message: string
    /** what failed (a DataCloneError, say), when known; not sent to workers */
    readonly cause?: unknown
  }
  | {
    readonly _tag: "Crashed"
    readonly workerId: number
    readonly exitCode?: number
    readonly message: string
    /** the worker's uncaught error, when it had one; not sent to workers */
    readonly cause?: unknown
  }
  | { readonly _tag: "Closed"; readonly message: string }
  | { readonly _tag: "QueueFull"; readonly capacity: number }
  | { readonly _tag: "StartFailed"; readonly workerId: number; readonly message: string }
  | { readonly _tag: "Quarantined"; readonly crashes: number; readonly remainingMs: number }

/** The settlement as sent to a worker: plain data only (a cause may not survive a structured clone). */
export const withoutCause = (settlement: Settlement): Settlement =>
  (settlement._tag === "Encoding" || settlement._tag === "Crashed") && settlement.cause !== undefined
    ? { ...settlement, cause: undefined }
    : settlement

export const toEffect = (task: { readonly name: string }, settlement: Settlement): Effect.Effect<any, any> => {
  switch (settlement._tag) {
    case "Success":
      return Effect.succeed(settlement.value)
    case "Failure":
      return Effect.fail(settlement.error)
    case "ComputeFailure": {
      const decoded = Codec.decode(ComputeError, settlement.encoded)
      return decoded.ok
        ? Effect.fail(decoded.value)
        : Effect.fail(
          Codec.encodingError(
            task,
            "result",
            `task "${task.name}" failed with a ComputeError that could not be decoded: ${decoded.error}`
          )
        )
    }
    case "Defect": {
      const { info } = settlement
      return Effect.die(
        new TaskDefect({
          task: task.name,
          workerId: settlement.workerId,
          errorName: info.name,
          message: info.message,
          workerStack: info.stack
        })
      )
    }
    case "Interrupted":
      return Effect.interrupt
    default:
      return Effect.fail(poolError(task, settlement))
  }
}

/** A settlement that is the pool's own error: the task did not end by itself (not served, crashed, rejected...). */
export type PoolErrorSettlement = Exclude<
  Settlement,
  { readonly _tag: "Success" | "Failure" | "ComputeFailure" | "Defect" | "Interrupted" }
>

/** The ComputeError the caller sees for a settlement that is the pool's own error. */
export const poolError = (task: { readonly name: string }, settlement: PoolErrorSettlement): ComputeError => {
  switch (settlement._tag) {
    case "NotServed":
      return new ComputeError({
        reason: new TaskNotServed({
          task: task.name,
          message: `task "${task.name}" is not served by the pool's worker entry (add it to ComputeWorker.serve)`
        })
      })
    case "Encoding":
      return Codec.encodingError(task, settlement.direction, settlement.message, settlement.cause)
    case "Crashed":
      return new ComputeError({
        reason: new WorkerCrashed({
          task: task.name,
          workerId: settlement.workerId,
          exitCode: settlement.exitCode,
          message: `task "${task.name}" failed because its worker died: ${settlement.message}`,
          cause: settlement.cause
        })
      })
    case "Closed":
      return new ComputeError({ reason: new PoolClosed({ task: task.name, message: settlement.message }) })
    case "QueueFull":
      return new ComputeError({
        reason: new QueueFull({
          task: task.name,
          capacity: settlement.capacity,
          message: `the pool's queue is full (${settlement.capacity} tasks); task "${task.name}" was not queued`
        })
      })
    case "Quarantined":
      return new ComputeError({
        reason: new TaskQuarantined({
          task: task.name,
          crashes: settlement.crashes,
          remainingMs: settlement.remainingMs,
          message: `task "${task.name}" crashed its worker ${settlement.crashes} times within the quarantine ` +
            `window: it is quarantined, and fails at once, for ${Math.ceil(settlement.remainingMs / 1_000)} s more`
        })
      })
    case "StartFailed":
      return new ComputeError({
        reason: new WorkerStartFailed({ workerId: settlement.workerId, message: settlement.message })
      })
  }
}

/**
 * A settlement whose success or failure is still encoded (as a worker reports it, or as the main thread passes a
 * subtask's outcome through), decoded with the task's schemas. A piece of a split map (`Kind.Split`) stays encoded:
 * the piece waiting for it passes it up as it is, and only the map decodes it, once (see `splitting.ts`).
 */
export const decoded = (task: ComputeTask.Any, kind: Protocol.Kind, settlement: Settlement): Settlement => {
  if (kind === Protocol.Kind.Split) return settlement
  if (settlement._tag === "Success") {
    const result = Codec.decodeSuccess(task.success, kind, settlement.value)
    return result.ok ? { _tag: "Success", value: result.value } : {
      _tag: "Encoding",
      direction: "result",
      message: `the result of task "${task.name}" could not be decoded: ${result.error}`
    }
  }
  if (settlement._tag === "Failure") {
    const result = Codec.decode(task.failure, settlement.error)
    return result.ok ? { _tag: "Failure", error: result.value } : {
      _tag: "Encoding",
      direction: "result",
      message: `the failure of task "${task.name}" could not be decoded: ${result.error}`
    }
  }
  return settlement
}

/** How a job ended, from its worker's report: the encoded value decoded with the task's schemas. */
export const fromWorker = (
  task: ComputeTask.Any,
  kind: Protocol.Kind,
  workerId: number,
  outcome: Protocol.Outcome,
  value: unknown
): Settlement => {
  switch (outcome) {
    case Protocol.Outcome.Success:
      return decoded(task, kind, { _tag: "Success", value })
    case Protocol.Outcome.Failure:
      return decoded(task, kind, { _tag: "Failure", error: value })
    case Protocol.Outcome.Defect:
      return { _tag: "Defect", workerId: workerId, info: value as Protocol.ErrorInfo }
    case Protocol.Outcome.Interrupted:
      return { _tag: "Interrupted" }
    case Protocol.Outcome.NotServed:
      return { _tag: "NotServed" }
    case Protocol.Outcome.ComputeFailure:
      return { _tag: "ComputeFailure", encoded: value }
    case Protocol.Outcome.PayloadUndecodable:
      return {
        _tag: "Encoding",
        direction: "payload",
        message: `the worker could not decode the payload of task "${task.name}": ${String(value)}`
      }
    case Protocol.Outcome.ResultUnsendable:
      return { _tag: "Encoding", direction: "result", message: `task "${task.name}": ${String(value)}` }
  }
}
