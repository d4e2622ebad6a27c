/**
 * The pool as a task running in a worker sees it: a `ComputePool` whose `execute` sends the subtask to the main
 * thread's scheduler (a Spawn message) like any other task and resumes the calling fiber when its ChildResult comes
 * back; interrupting the caller stops the subtask and waits until it has. One client per worker; each Effect handler
 * gets a view of it (`forTask`) that names the handler's task as the parent, so the pool counts the subtasks as that
 * task's own and stops them with it.
 */
import * as Effect from "effect/Effect"
import type { MessagePort } from "node:worker_threads"
import { ComputePool } from "../ComputePool.ts"
import type * as ComputeTask from "../ComputeTask.ts"
import * as Codec from "./codec.ts"
import * as Protocol from "./protocol.ts"
import { type Settlement, toEffect } from "./settlement.ts"

// Built once: the pool handed to every Effect handler is made per task, and a fresh Error (with its stack trace) per
// task for these rarely used fields was measured at ~6% of a worker's time in the service example.
const mainThreadOnly = (what: string) =>
  Effect.suspend(() =>
    Effect.die(new Error(`ComputePool.${what} is only available on the main thread, not inside a task`))
  )
const statsInTask = mainThreadOnly("stats")
const metricsInTask = mainThreadOnly("metrics")
const broadcastInTask = () => mainThreadOnly("broadcast")

/** The Effect a subtask's caller (a task in this worker) resumes with: its outcome decoded with the task's schemas. */
const childEffect = (task: ComputeTask.Any, kind: Protocol.Kind, settlement: Settlement): Effect.Effect<any, any> => {
  if (settlement._tag !== "Success" && settlement._tag !== "Failure") return toEffect(task, settlement)
  const schema = settlement._tag === "Success" ? task.success : task.failure
  const value = settlement._tag === "Success" ? settlement.value : settlement.error
  const decoded = settlement._tag === "Success"
    ? Codec.decodeSuccess(schema, kind, value)
    : Codec.decode(schema, value)
  if (!decoded.ok) {
    return Effect.fail(
      Codec.encodingError(task, "result", `the outcome of task "${task.name}" could not be decoded: ${decoded.error}`)
    )
  }
  return settlement._tag === "Success" ? Effect.succeed(decoded.value) : Effect.fail(decoded.value)
}

export interface NestedPool {
  /** The pool handed to the Effect handler of the running task `parentId`. */
  readonly forTask: (parentId: number) => ComputePool["Service"]
  /** The main thread's answer to a Spawn: how the subtask ended. */
  readonly onChildResult: (requestId: number, settlement: Settlement) => void
}

export const make = (port: MessagePort, threads: number): NestedPool => {
  const children = new Map<number, (settlement: Settlement) => void>()
  let nextRequest = 1

  const spawnChild = (parentId: number, task: ComputeTask.Any, kind: Protocol.Kind, payload: unknown) =>
    Effect.callback<any, any>((resume) => {
      const encoded = Codec.encodePayload(task.payload, kind, payload)
      if (!encoded.ok) {
        return resume(Effect.fail(
          Codec.encodingError(
            task,
            "payload",
            `the payload of task "${task.name}" could not be encoded: ${encoded.error}`
          )
        ))
      }
      const requestId = nextRequest++
      let settled = false
      children.set(requestId, (settlement) => {
        settled = true
        resume(childEffect(task, kind, settlement))
      })
      try {
        port.postMessage(
          [Protocol.Spawn, requestId, parentId, task.name, kind, encoded.value] satisfies Protocol.SpawnMessage
        )
      } catch (cause) {
        children.delete(requestId)
        return resume(Effect.fail(Codec.encodingError(
          task,
          "payload",
          `the payload of task "${task.name}" could not be sent: ${Protocol.errorInfo(cause).message}`,
          cause
        )))
      }
      // Interrupted: ask the pool to stop the subtask, and wait until it has. (Resuming with the subtask's own
      // interruption lands here too, after it has ended: then there is nothing to stop or wait for.)
      return Effect.callback<void>((stopped) => {
        if (settled) return stopped(Effect.void)
        children.set(requestId, () => stopped(Effect.void))
        port.postMessage([Protocol.CancelChild, requestId] satisfies Protocol.CancelChildMessage)
      })
    })

  const forTask = (parentId: number) =>
    ComputePool.of({
      threads,
      execute: (task, payload) => spawnChild(parentId, task, Protocol.Kind.Single, payload),
      executeChunk: (task, payloads) =>
        payloads.length === 0 ? Effect.succeed([]) : spawnChild(parentId, task, Protocol.Kind.Chunk, payloads),
      broadcast: broadcastInTask,
      stats: statsInTask,
      metrics: metricsInTask
    })

  const onChildResult = (requestId: number, settlement: Settlement) => {
    const resume = children.get(requestId)
    if (resume === undefined) return
    children.delete(requestId)
    resume(settlement)
  }

  return { forTask, onChildResult }
}
