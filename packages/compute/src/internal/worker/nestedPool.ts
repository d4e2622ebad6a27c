/**
 * The pool as a task running in a worker sees it: a `ComputePool` whose `execute` puts the subtask in this worker's
 * own queue (`subtaskQueue.ts`) and resumes the calling fiber when it ends — run here, stolen by a peer, or, when it
 * could not be lent to a peer, run by the main thread's scheduler. Interrupting the caller stops the subtask and
 * waits until it has. Each Effect handler gets a view of it (`forTask`) that names the handler's run as the parent,
 * so its subtasks are stopped with it, and offers `ComputeParallel.map` the split map (`splitting.ts`).
 */
import * as Effect from "effect/Effect"
import type { MessagePort } from "node:worker_threads"
import type * as ComputeTask from "../../ComputeTask.ts"
import { ComputePool } from "../service.ts"
import * as Codec from "../wire/codec.ts"
import * as Protocol from "../wire/protocol.ts"
import { decoded, type Settlement, toEffect } from "../wire/settlement.ts"
import { type Pieces, type SplitMap, splitMapKey } from "./splitting.ts"
import { type Parent, Subtask, type SubtaskQueue } from "./subtaskQueue.ts"

// Built once: the pool handed to every Effect handler is made per task, and a fresh Error (with its stack trace) per
// task for these rarely used fields was measured at ~6% of a worker's time in the service example.
const mainThreadOnly = (what: string) =>
  Effect.suspend(() =>
    Effect.die(new Error(`ComputePool.${what} is only available on the main thread, not inside a task`))
  )
const statsInTask = mainThreadOnly("stats")
const metricsInTask = mainThreadOnly("metrics")
const broadcastInTask = () => mainThreadOnly("broadcast")

const encodePayload = (task: ComputeTask.Any, kind: Protocol.Kind, payload: unknown) =>
  Codec.encodePayload(task.payload, kind, payload)

/** A split map's results, still encoded (`Kind.Split`), decoded once, as a chunk's. */
const mapResult = (task: ComputeTask.Any, settlement: Settlement) =>
  toEffect(task, decoded(task, Protocol.Kind.Chunk, settlement))

export interface NestedPool {
  /** The pool handed to the Effect handler of `parent`, a run in this worker. */
  readonly forTask: (parent: Parent) => ComputePool["Service"]
  /** Sends a subtask to the main thread's scheduler (no peer could take it); false if it could not be sent. */
  readonly sendToMain: (subtask: Subtask) => boolean
  /** The main thread's answer to a Spawn: how the subtask ended. */
  readonly onChildResult: (requestId: number, settlement: Settlement) => void
}

export const make = (port: MessagePort, threads: number, queue: SubtaskQueue, pieces: Pieces): NestedPool => {
  /** subtasks sent to the main thread, by request id */
  const atMain = new Map<number, Subtask>()
  let nextRequest = 1

  /**
   * Queues a subtask, its payload encoded by `encode` (here as for any thread, so a payload that could not cross fails
   * the same wherever it runs); the calling fiber resumes with `toResult` of its outcome.
   */
  const spawn = (
    parent: Parent,
    task: ComputeTask.Any,
    kind: Protocol.Kind,
    payload: unknown,
    encode: (task: ComputeTask.Any, kind: Protocol.Kind, payload: unknown) => Codec.Coded,
    toResult: (task: ComputeTask.Any, settlement: Settlement) => Effect.Effect<any, any>
  ) =>
    Effect.callback<any, any>((resume) => {
      const encoded = encode(task, kind, payload)
      if (!encoded.ok) {
        return resume(Effect.fail(
          Codec.encodingError(
            task,
            "payload",
            `the payload of task "${task.name}" could not be encoded: ${encoded.error}`
          )
        ))
      }
      const subtask = new Subtask(task, kind, encoded.value, parent, (settlement) => resume(toResult(task, settlement)))
      queue.push(subtask)
      // Interrupted: stop the subtask, and wait until it has. (Resuming with the subtask's own interruption lands
      // here too, after it has ended: then there is nothing to stop or wait for.)
      return Effect.callback<void>((stopped) => queue.cancel(subtask, () => stopped(Effect.void)))
    })

  // The whole map is one piece, which splits as it runs (splitting.ts).
  const splitMap = (parent: Parent): SplitMap => (task, items, minChunkSize) =>
    spawn(
      parent,
      task,
      Protocol.Kind.Split,
      items,
      (task, _kind, items) => pieces.root(task, items as ReadonlyArray<unknown>, minChunkSize),
      mapResult
    )

  const sendToMain = (subtask: Subtask): boolean => {
    const requestId = nextRequest++
    try {
      port.postMessage(
        [
          Protocol.Spawn,
          requestId,
          subtask.rootId,
          subtask.task.name,
          subtask.kind,
          subtask.encoded
        ] satisfies Protocol.SpawnMessage
      )
    } catch {
      // Not sendable (a payload that only this thread can hold): it runs here.
      return false
    }
    atMain.set(requestId, subtask)
    queue.handedToMain(subtask)
    subtask.recall = () => port.postMessage([Protocol.CancelChild, requestId] satisfies Protocol.CancelChildMessage)
    return true
  }

  const forTask = (parent: Parent) =>
    Object.assign(
      ComputePool.of({
        threads,
        execute: (task, payload) => spawn(parent, task, Protocol.Kind.Single, payload, encodePayload, toEffect),
        executeChunk: (task, payloads) =>
          payloads.length === 0
            ? Effect.succeed([])
            : spawn(parent, task, Protocol.Kind.Chunk, payloads, encodePayload, toEffect),
        broadcast: broadcastInTask,
        stats: statsInTask,
        metrics: metricsInTask
      }),
      { [splitMapKey]: splitMap(parent) }
    )

  const onChildResult = (requestId: number, settlement: Settlement) => {
    const subtask = atMain.get(requestId)
    if (subtask === undefined) return
    atMain.delete(requestId)
    queue.finishElsewhere(subtask, decoded(subtask.task, subtask.kind, settlement))
  }

  return { forTask, sendToMain, onChildResult }
}
