/**
 * What a remote call's caller sees, in the pool's vocabulary: the same `ComputeError` reasons and the same
 * `TaskDefect` defect as a local call, whatever effect/cluster reported on the way.
 */
import * as Cause from "effect/Cause"
import * as ClusterError from "effect/cluster/ClusterError"
import * as Effect from "effect/Effect"
import { ComputeError, EncodingError, InvalidOptions, PoolClosed, QueueFull, TaskDefect } from "../../ComputeError.ts"

/** The error of a transfer list on a cluster pool: buffers cannot be moved to another machine. */
export const transferUnsupported = (task: string) =>
  new ComputeError({
    reason: new InvalidOptions({
      key: "transfer",
      message: `task "${task}": transfer lists move buffers between threads of one process; a cluster pool copies ` +
        `every payload over the network, so call it without \`transfer\``
    })
  })

/** The error of a broadcast on a cluster pool: runners come and go, so "every worker" has no fixed set to reach. */
export const broadcastUnsupported = (task: string) =>
  new ComputeError({
    reason: new InvalidOptions({
      key: "broadcast",
      message: `task "${task}": a cluster client cannot reach every worker of every runner; broadcast on each ` +
        `runner's own pool instead (in the Layer that builds it, say)`
    })
  })

/** A payload (or result) whose frame would exceed the serializer's limit: the call is refused before it is sent. */
export const frameTooLarge = (task: string, direction: "payload" | "result", bytes: number, limit: number) =>
  new ComputeError({
    reason: new EncodingError({
      task,
      direction,
      message: `task "${task}": the ${direction} encodes to ${bytes} bytes, past the cluster's frame limit of ` +
        `${limit} bytes (raise maxFrameSize on every runner and client, or send less per call)`
    })
  })

/** A payload the task's schema could not encode for the wire. */
export const payloadNotEncodable = (task: string, cause: unknown) =>
  new ComputeError({
    reason: new EncodingError({
      task,
      direction: "payload",
      message: `task "${task}": the payload could not be encoded for the cluster: ${String(cause)}`,
      cause
    })
  })

/** The caller-side error of a cluster-level failure of one call. */
const fromCluster = (task: string, error: unknown): ComputeError | undefined => {
  if (ClusterError.MailboxFull.is(error)) {
    return new ComputeError({
      reason: new QueueFull({
        task,
        capacity: -1,
        message: `task "${task}": the mailbox of entity ${error.address.entityId} on its runner is full`
      })
    })
  }
  if (ClusterError.EntityNotAssignedToRunner.is(error)) {
    return new ComputeError({
      reason: new PoolClosed({
        task,
        message: `task "${task}": the cluster client is shutting down, so the call was not sent`
      })
    })
  }
  return undefined
}

/**
 * Maps the remote call's failures to a local call's: `TaskDefect` back to a defect, cluster errors to
 * `ComputeError` reasons (the rest — storage failures, say — stay defects, with the cluster's error as it is);
 * a task's own failure and a `ComputeError` pass as they are.
 */
export const toLocal = <A>(task: string, call: Effect.Effect<A, unknown>): Effect.Effect<A, any> =>
  Effect.catchCause(call, (cause) => {
    const error = Cause.findErrorOption(cause)
    if (error._tag === "Some") {
      const failure = error.value
      if (failure instanceof TaskDefect) return Effect.die(failure)
      if (failure instanceof ComputeError) return Effect.fail(failure)
      const mapped = fromCluster(task, failure)
      if (mapped !== undefined) return Effect.fail(mapped)
      if (failure instanceof ClusterError.PersistenceError || ClusterError.AlreadyProcessingMessage.is(failure)) {
        return Effect.die(failure)
      }
      return Effect.fail(failure)
    }
    const defect = Cause.findDefect(cause)
    if (defect._tag === "Success" && ClusterError.MalformedMessage.is(defect.success)) {
      return Effect.fail(payloadNotEncodable(task, defect.success.cause))
    }
    return Effect.failCause(cause)
  })
