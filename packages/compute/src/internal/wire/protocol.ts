/**
 * The wire protocol between the pool (main thread) and its workers.
 *
 * Messages are flat arrays: cheap to structured-clone, and one message carries many tasks or many results, so the
 * per-task cost of `postMessage` shrinks as work arrives in bulk. Each message kind has a tuple type, and the
 * variable-length ones (Run, Results, SubtaskTally) are written and read only through the functions here.
 */
import type { MessagePort } from "node:worker_threads"
import type { Settlement } from "./settlement.ts"

/** main -> worker: the first message a worker receives: who it is and where its shared claim cells live. */
export const Init = 2
export type InitMessage = readonly [
  tag: typeof Init,
  workerId: number,
  claims: SharedArrayBuffer,
  threads: number,
  /** the worker's shared region (see `region.ts`) */
  region: SharedArrayBuffer,
  /** where its tasks arrive, when not by Run messages (see `inbox.ts`) */
  inbox: SharedArrayBuffer | undefined,
  /** how long the worker, once idle, keeps looking for work before it sleeps */
  idleSpinMicros: number,
  /** the cores the pool counts on: the worker spins only while one is free for it */
  cores: number
]

/** main -> worker: tasks to run, six fields per task after a two-field header: the tag and {@link RunFlag}s. */
export const Run = 0
export type RunMessage = [tag: typeof Run, flags: number, ...entries: Array<unknown>]

export const RunFlag = {
  /** nothing else is in flight anywhere in the pool: send the results back at once */
  Urgent: 1,
  /** posted with no place kept in the worker's inbox (it was full): run it on arrival */
  Unplaced: 2
} as const
const RunHeader = 2
const RunEntry = 6

/** The fields of one task of a Run message, in order (positional, so that reading one allocates nothing). */
export type RunEntryReader = (
  id: number,
  name: string,
  kind: Kind,
  /** the task's cell in the worker's claims array (see {@link Claim}) */
  claim: number,
  payload: unknown,
  /** `[traceId, spanId]` of the caller's span when the pool traces */
  trace: readonly [string, string] | undefined
) => void

export const runMessage = (flags = 0): RunMessage => [Run, flags]

export const pushRunEntry = (
  message: RunMessage,
  id: number,
  name: string,
  kind: Kind,
  claim: number,
  payload: unknown,
  trace: readonly [string, string] | undefined
): void => {
  message.push(id, name, kind, claim, payload, trace)
}

/** The message with only its `index`th task: to send tasks one by one when the whole could not be sent. */
export const runMessageOf = (message: RunMessage, index: number): RunMessage => {
  const start = RunHeader + index * RunEntry
  return [Run, message[1], ...message.slice(start, start + RunEntry)]
}

export const forEachRunEntry = (message: RunMessage, f: RunEntryReader): void => {
  for (let i = RunHeader; i < message.length; i += RunEntry) {
    f(
      message[i] as number,
      message[i + 1] as string,
      message[i + 2] as Kind,
      message[i + 3] as number,
      message[i + 4],
      message[i + 5] as readonly [string, string] | undefined
    )
  }
}

/**
 * What a Run entry carries: one payload, or a chunk of payloads whose results come back as one array, or a piece of a
 * map split adaptively inside the workers: its encoded items and how to split them (`splitting.ts`'s `Piece`), its
 * results an array still encoded. The main thread passes a piece on like any payload; a worker runs it.
 */
export const Kind = {
  Single: 0,
  Chunk: 1,
  Split: 2
} as const
export type Kind = (typeof Kind)[keyof typeof Kind]

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

/** main -> worker: interrupt a started task (Promise and Effect handlers hear it this way). */
export const Cancel = 1
export type CancelMessage = readonly [tag: typeof Cancel, id: number]

/** main -> worker: how a task spawned by one of this worker's tasks ended. */
export const ChildResult = 3
export type ChildResultMessage = readonly [tag: typeof ChildResult, requestId: number, settlement: Settlement]

/**
 * main -> worker: the worker is being retired (recycled, or the pool shrinks) and holds no task any more: finalise the
 * per-worker Layer, then exit.
 */
export const Retire = 4
export type RetireMessage = readonly [tag: typeof Retire]

/**
 * main -> worker: another worker is ready: its shared region, and a port to it. Subtasks are stolen through the
 * region; wake-ups and the results of stolen subtasks go through the port, past the main thread.
 */
export const Peer = 5
export type PeerMessage = readonly [tag: typeof Peer, peerId: number, region: SharedArrayBuffer, port: MessagePort]

/** main -> worker: a peer exited; what it had taken from this worker ended with it. */
export const PeerLost = 6
export type PeerLostMessage = readonly [tag: typeof PeerLost, peerId: number, exitCode: number, why: string]

/** main -> worker: tasks wait in your inbox (sent only to a worker asleep: hungry, see `region.ts`). */
export const Drain = 7
export type DrainMessage = readonly [tag: typeof Drain]

/** What the main thread sends a worker. */
export type ToWorker =
  | InitMessage
  | RunMessage
  | CancelMessage
  | ChildResultMessage
  | RetireMessage
  | PeerMessage
  | PeerLostMessage
  | DrainMessage

/** worker -> main: the entry loaded and the per-worker Layer built. */
export const Ready = 10
export type ReadyMessage = readonly [tag: typeof Ready]

/** worker -> main: the per-worker Layer failed to build. */
export const StartFailed = 11
export type StartFailedMessage = readonly [tag: typeof StartFailed, error: ErrorInfo]

/** worker -> main: outcomes of tasks, four fields per task: `id, Outcome, value, runMs`. */
export const Results = 12
export type ResultsMessage = [tag: typeof Results, ...entries: Array<unknown>]
const ResultEntry = 4

export const resultsMessage = (): ResultsMessage => [Results]

export const pushResult = (message: ResultsMessage, id: number, outcome: Outcome, value: unknown, runMs: number) => {
  message.push(id, outcome, value, runMs)
}

export const hasResults = (message: ResultsMessage): boolean => message.length > 1

export const forEachResult = (
  message: ResultsMessage,
  f: (id: number, outcome: Outcome, value: unknown, runMs: number) => void
): void => {
  for (let i = 1; i < message.length; i += ResultEntry) {
    f(message[i] as number, message[i + 1] as Outcome, message[i + 2], message[i + 3] as number)
  }
}

/**
 * worker -> main: a task running here (`parentId`) uses the pool itself, with a payload encoded here. The pool
 * answers with `ChildResult`.
 */
export const Spawn = 13
export type SpawnMessage = readonly [
  tag: typeof Spawn,
  requestId: number,
  parentId: number,
  name: string,
  kind: Kind,
  payload: unknown
]

/** worker -> main: the spawning task was interrupted; stop its child. */
export const CancelChild = 14
export type CancelChildMessage = readonly [tag: typeof CancelChild, requestId: number]

/**
 * worker -> main: how subtasks that ran among the workers ended, three fields each: `taskName, outcome, runMs` (-1
 * when it never ran). Only for the per-task metrics; the stats read the workers' regions. Sent before the Results it
 * goes out with, so a root's subtasks are counted by the time its caller resumes.
 */
export const SubtaskTally = 15
export type SubtaskTallyMessage = [tag: typeof SubtaskTally, ...entries: Array<string | number>]
const TallyEntry = 3

export const tallyMessage = (): SubtaskTallyMessage => [SubtaskTally]

/** `outcome` is an index into `outcome.ts`'s `outcomes`; `runMs` undefined when the subtask never ran. */
export const pushTally = (
  message: SubtaskTallyMessage,
  taskName: string,
  outcome: number,
  runMs: number | undefined
): void => {
  message.push(taskName, outcome, runMs ?? -1)
}

export const hasTallies = (message: SubtaskTallyMessage): boolean => message.length > 1

export const forEachTally = (
  message: SubtaskTallyMessage,
  f: (taskName: string, outcome: number, runMs: number | undefined) => void
): void => {
  for (let i = 1; i < message.length; i += TallyEntry) {
    const runMs = message[i + 2] as number
    f(message[i] as string, message[i + 1] as number, runMs < 0 ? undefined : runMs)
  }
}

/** What a worker sends the main thread. */
export type FromWorker =
  | ReadyMessage
  | StartFailedMessage
  | ResultsMessage
  | SpawnMessage
  | CancelChildMessage
  | SubtaskTallyMessage

/** worker -> peer: you were claimed hungry, and there may be work to steal. */
export const Wake = 20
export type WakeMessage = readonly [tag: typeof Wake]

/** thief -> owner: how a subtask it stole from the owner's steal slots ended (`token` names it there). */
export const StolenResult = 21
export type StolenResultMessage = readonly [
  tag: typeof StolenResult,
  slot: number,
  token: number,
  outcome: Outcome,
  value: unknown,
  runMs: number
]

/** owner -> thief: the parent of a subtask it stole was interrupted; stop it. */
export const CancelStolen = 22
export type CancelStolenMessage = readonly [tag: typeof CancelStolen, token: number]

/** What a worker sends a peer. */
export type FromPeer = WakeMessage | StolenResultMessage | CancelStolenMessage

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
export type Outcome = (typeof Outcome)[keyof typeof Outcome]

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
