/**
 * The wire protocol between the pool (main thread) and its workers.
 *
 * Messages are flat arrays: cheap to structured-clone, and one message carries many tasks or many results, so the
 * per-task cost of `postMessage` shrinks as work arrives in bulk. Each message kind has a tuple type, and the
 * variable-length ones (Run, Results, SubtaskTally) are written and read only through the functions here.
 */
import type { MessagePort } from "node:worker_threads"
import { type Outcome, outcomes } from "./outcome.ts"
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
 * interrupt it: a thread busy in a loop cannot read a message, but it can read this cell (`isInterrupted()`). The
 * handler's `signal` waits for the Cancel that follows: the cell can flip while the handler is still starting, before
 * it has added its abort listener (worker/taskRunner.ts, `Running.signal`).
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

/**
 * main -> worker, and worker -> peer: you were hungry and a giver fed you: work waits (in your inbox, or in the
 * giver's steal slots). Sent only to a worker asleep; see `worker/idle.md`.
 */
export const Wake = 7
export type WakeMessage = readonly [tag: typeof Wake]

/** What the main thread sends a worker. */
export type ToWorker =
  | InitMessage
  | RunMessage
  | CancelMessage
  | ChildResultMessage
  | RetireMessage
  | PeerMessage
  | PeerLostMessage
  | WakeMessage

/** worker -> main: the entry loaded and the per-worker Layer built. */
export const Ready = 10
export type ReadyMessage = readonly [tag: typeof Ready]

/** worker -> main: the per-worker Layer failed to build. */
export const StartFailed = 11
export type StartFailedMessage = readonly [tag: typeof StartFailed, error: ErrorInfo]

/** worker -> main: outcomes of tasks, four fields per task: `id, Report, value, runMs`. */
export const Results = 12
export type ResultsMessage = [tag: typeof Results, ...entries: Array<unknown>]
const ResultEntry = 4

export const resultsMessage = (): ResultsMessage => [Results]

export const pushResult = (message: ResultsMessage, id: number, report: Report, value: unknown, runMs: number) => {
  message.push(id, report, value, runMs)
}

export const hasResults = (message: ResultsMessage): boolean => message.length > 1

export const forEachResult = (
  message: ResultsMessage,
  f: (id: number, report: Report, value: unknown, runMs: number) => void
): void => {
  for (let i = 1; i < message.length; i += ResultEntry) {
    f(message[i] as number, message[i + 1] as Report, message[i + 2], message[i + 3] as number)
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
 * worker -> main: how subtasks that ran among the workers ended, summed per task name since the last one: three
 * fields a name — `taskName`, `counts` (one per outcome, in `outcome.ts`'s order) and `runMs` (the run time of each
 * that ran, as a `Float64Array`). Only for the per-task metrics; the stats read the workers' regions. Sent before the
 * Results it goes out with; a thief hands its own to the owner with its answer (`StolenResult`), so a root's
 * subtasks, wherever they ran, are counted by the time its caller resumes.
 */
export const SubtaskTally = 15
export type SubtaskTallyMessage = [
  tag: typeof SubtaskTally,
  ...entries: Array<string | ReadonlyArray<number> | Float64Array>
]
const TallyEntry = 3

/**
 * A worker's subtask endings since its last message, summed per task name: one entry a name rather than one a
 * subtask, so a tree of thousands of subtasks costs a message of a few fields, not thousands of strings to clone and
 * read on the main thread.
 */
export class SubtaskTallies {
  private readonly byName = new Map<string, { counts: Array<number>; runMs: Array<number> }>()
  private empty = true

  /** `runMs` undefined when the subtask never ran. */
  add(taskName: string, outcome: Outcome, runMs: number | undefined): void {
    const entry = this.entryOf(taskName)
    entry.counts[outcomes.indexOf(outcome)]!++
    if (runMs !== undefined) entry.runMs.push(runMs)
  }

  /** Adds what another worker's message holds (a thief's, handed over with its answer). */
  merge(message: SubtaskTallyMessage): void {
    forEachTally(message, (taskName, counts, runMs) => {
      const entry = this.entryOf(taskName)
      for (let outcome = 0; outcome < counts.length; outcome++) entry.counts[outcome]! += counts[outcome]!
      for (let i = 0; i < runMs.length; i++) entry.runMs.push(runMs[i]!)
    })
  }

  private entryOf(taskName: string) {
    let entry = this.byName.get(taskName)
    if (entry === undefined) {
      entry = { counts: outcomes.map(() => 0), runMs: [] }
      this.byName.set(taskName, entry)
    }
    this.empty = false
    return entry
  }

  get isEmpty(): boolean {
    return this.empty
  }

  /** The message for what was added since the last one; the tallies start again from nothing. */
  take(): SubtaskTallyMessage {
    const message: SubtaskTallyMessage = [SubtaskTally]
    for (const [name, entry] of this.byName) {
      if (entry.runMs.length === 0 && entry.counts.every((count) => count === 0)) continue
      message.push(name, entry.counts.slice(), Float64Array.from(entry.runMs))
      entry.counts.fill(0)
      entry.runMs.length = 0
    }
    this.empty = true
    return message
  }
}

export const forEachTally = (
  message: SubtaskTallyMessage,
  f: (taskName: string, counts: ReadonlyArray<number>, runMs: Float64Array) => void
): void => {
  for (let i = 1; i < message.length; i += TallyEntry) {
    f(message[i] as string, message[i + 1] as ReadonlyArray<number>, message[i + 2] as Float64Array)
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

/**
 * thief -> owner: how a subtask it stole from the owner's steal slots ended (`token` names it there), with the thief's
 * subtask endings not yet sent to the main thread (its own among them), which the owner sends with its own.
 */
export const StolenResult = 21
export type StolenResultMessage = readonly [
  tag: typeof StolenResult,
  slot: number,
  token: number,
  report: Report,
  value: unknown,
  runMs: number,
  tallies: SubtaskTallyMessage | undefined
]

/** owner -> thief: the parent of a subtask it stole was interrupted; stop it. */
export const CancelStolen = 22
export type CancelStolenMessage = readonly [tag: typeof CancelStolen, token: number]

/** What a worker sends a peer. */
export type FromPeer = WakeMessage | StolenResultMessage | CancelStolenMessage

/**
 * How one task ended, as its worker reports it: a code on the wire. The main thread reads it into a `Settlement`
 * (`settlement.ts`: what it means, with its detail), which is counted as one of the six outcomes (`outcome.ts`).
 */
export const Report = {
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
export type Report = (typeof Report)[keyof typeof Report]

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
