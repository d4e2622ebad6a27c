/**
 * The wire protocol between the pool (main thread) and its workers.
 *
 * Messages are flat arrays: cheap to structured-clone, and one message carries many tasks or many results, so the
 * per-task cost of `postMessage` shrinks as work arrives in bulk.
 */

/** main -> worker: `[Init, workerId, claims: SharedArrayBuffer, threads]`: the first message a worker receives. */
export const Init = 2
/**
 * main -> worker: `[Run, urgent, id, taskName, kind, claim, encodedPayload, trace, ...]`, six fields per task.
 * `urgent` (1) says nothing else is in flight anywhere in the pool: send the results back at once rather than
 * coalescing them. `claim` is the task's cell in the worker's claims array (see {@link Claim}). `trace` is
 * `[traceId, spanId]` of the caller's span when the pool traces, else undefined.
 */
export const Run = 0
/** The fields before the first task of a Run message, and the fields of each task. */
export const RunHeader = 2
export const RunEntry = 6

/** What a Run entry carries: one payload, or a chunk of payloads whose results come back as one array. */
export const Kind = {
  Single: 0,
  Chunk: 1
} as const

/**
 * Each worker shares an `Int32Array` of claim cells with the pool, one per task it may hold. A cell holds the task's
 * id while the task waits in the worker; the worker swaps it for `Started` (compare-and-swap) before running the
 * task, and the pool, to take back a task that has not started, swaps the id for `Revoked` — whichever swap wins
 * decides, so a task never both runs and is taken back. The pool marks a started task `CancelRequested` to
 * interrupt it: a thread busy in a loop cannot read a message, but it can read this cell (`isInterrupted()`).
 */
export const Claim = {
  Revoked: 0,
  Started: -1,
  CancelRequested: -2
} as const

/** main -> worker: `[Cancel, id]`: interrupt a started task (Promise and Effect handlers hear it this way). */
export const Cancel = 1

/** main -> worker: `[ChildResult, requestId, Settlement]`: how a task spawned by one of this worker's tasks ended. */
export const ChildResult = 3

/** worker -> main: `[Ready]`: the entry loaded and the per-worker Layer built. */
export const Ready = 10
/** worker -> main: `[StartFailed, ErrorInfo]`: the per-worker Layer failed to build. */
export const StartFailed = 11
/** worker -> main: `[Results, id, Outcome, value, runMs, id, Outcome, value, runMs, ...]` */
export const Results = 12
export const ResultEntry = 4
/**
 * worker -> main: `[Spawn, requestId, parentId, taskName, kind, encodedPayload]`: a task running here (`parentId`)
 * uses the pool itself. The pool answers with `ChildResult`.
 */
export const Spawn = 13
/** worker -> main: `[CancelChild, requestId]`: the spawning task was interrupted; stop its child. */
export const CancelChild = 14

/** The outcome of one task, as reported by its worker. */
export const Outcome = {
  /** value: the encoded success */
  Success: 0,
  /** value: the encoded typed failure */
  Failure: 1,
  /** value: ErrorInfo of what the handler threw or died with */
  Defect: 2,
  /** value: undefined */
  Interrupted: 3,
  /** value: undefined; the entry does not serve this task name */
  NotServed: 4,
  /** value: message; the worker could not decode the payload */
  PayloadUndecodable: 5,
  /** value: message; the handler's result or failure could not be encoded or sent back */
  ResultUnsendable: 6,
  /** value: an encoded ComputeError the handler failed with (a subtask it spawned failed that way) */
  ComputeFailure: 7
} as const

/** A plain-data description of an error, safe to clone across threads. */
export interface ErrorInfo {
  readonly name: string
  readonly message: string
  readonly stack?: string | undefined
}

export const errorInfo = (u: unknown): ErrorInfo => {
  if (u instanceof Error) {
    return { name: u.name, message: u.message, stack: u.stack }
  }
  if (typeof u === "object" && u !== null && "message" in u && typeof u.message === "string") {
    const name = "_tag" in u && typeof u._tag === "string" ? u._tag : "Error"
    return { name, message: u.message }
  }
  return { name: "Error", message: safeString(u) }
}

export const safeString = (u: unknown): string => {
  try {
    return String(u)
  } catch {
    return Object.prototype.toString.call(u)
  }
}
