/**
 * A submitted task on the main thread, from admission to its one outcome, and its lifecycle states.
 */
import type { Transferable } from "node:worker_threads"
import type * as ComputeTask from "../../ComputeTask.ts"
import type * as Protocol from "../wire/protocol.ts"
import type { Settlement } from "../wire/settlement.ts"
import type { Timer } from "./thread.ts"
import type { WorkerSlot } from "./workerSlot.ts"

export const State = {
  /** beyond the queue bound: the caller is suspended, the payload not yet encoded */
  Waiting: 0,
  /** admitted, its payload encoded: waiting for a worker */
  Queued: 1,
  /** held by a worker (sent, started or not) */
  Running: 2,
  Done: 3,
  /** in no queue yet: just submitted, or just out of the waiting line, while its payload is encoded */
  Admitting: 4
} as const
export type State = (typeof State)[keyof typeof State]

export class Job {
  state: State = State.Admitting
  encoded: unknown = undefined
  worker: WorkerSlot | undefined = undefined
  /** `performance.now()` when it was queued (admitted) */
  queuedAt = 0
  /** milliseconds from queued to dispatched, and the handler's run time as its worker reported it */
  waitMs = 0
  runMs: number | undefined = undefined
  /** `[traceId, spanId]` of the caller's span, when tracing: the parent of the spans its handler makes */
  trace: readonly [string, string] | undefined = undefined
  /** a part of a broadcast: it must run on the worker it was sent to, so it is never taken back */
  pinned = false
  /** higher runs first; see `jobQueue.ts` for aging */
  priority = 0
  /** buffers to move to the worker rather than copy (the caller gave them up) */
  transfer: ReadonlyArray<Transferable> | undefined = undefined
  /** its cell in `worker.claims` while it is there */
  claim = -1
  /**
   * subtasks it spawned that have not ended: while any run, it is suspended and does not count as load (made on the
   * first: most jobs spawn none, and a Set each was a tenth of what a burst of jobs kept alive)
   */
  children: Set<Job> | undefined = undefined
  /** for a subtask: the task that spawned it, if it is still known */
  parent: Job | undefined = undefined
  /** for a subtask: where to send its outcome */
  origin: { readonly worker: WorkerSlot; readonly requestId: number } | undefined = undefined
  /** set when the caller was interrupted: the outcome goes to `stopped`, not to the caller */
  cancelled = false
  stopped: (() => void) | undefined = undefined
  graceTimer: Timer | undefined = undefined
  readonly id: number
  readonly task: ComputeTask.Any
  /** `Kind.Chunk`: `payload` is an array of payloads and the success an array of results, in order */
  readonly kind: Protocol.Kind
  readonly payload: unknown
  readonly settle: (settlement: Settlement) => void
  constructor(
    id: number,
    task: ComputeTask.Any,
    kind: Protocol.Kind,
    payload: unknown,
    settle: (settlement: Settlement) => void
  ) {
    this.id = id
    this.task = task
    this.kind = kind
    this.payload = payload
    this.settle = settle
  }
}
