/**
 * The main thread's handle on one worker: its thread, the jobs it holds, and the claim cells it shares with it.
 */
import type { Transferable } from "node:worker_threads"
import * as Inbox from "../shared/inbox.ts"
import { Region } from "../shared/region.ts"
import { stealSlotsBytes } from "../shared/stealSlots.ts"
import * as Protocol from "../wire/protocol.ts"
import type { Job } from "./job.ts"
import type { Timer, WorkerThread } from "./thread.ts"

/**
 * The jobs a worker holds, by id: an open-addressing table on a plain array, not a `Map`. V8 links each hash table a
 * `Map` outgrows to its successor, so once a busy `Map`'s table is tenured, every job added after it is dragged into the
 * old generation too (the main thread's GC time then rose 3-4x, for the rest of a run of small tasks).
 */
export class JobsById {
  private slots: Array<Job | undefined> = Array.from({ length: 64 })
  private mask = 63
  private count = 0

  get size(): number {
    return this.count
  }

  get(id: number): Job | undefined {
    for (let i = id & this.mask;; i = (i + 1) & this.mask) {
      const job = this.slots[i]
      if (job === undefined || job.id === id) return job
    }
  }

  set(job: Job): void {
    if (2 * (this.count + 1) > this.slots.length) this.grow()
    let i = job.id & this.mask
    for (let held = this.slots[i]; held !== undefined; held = this.slots[i]) {
      if (held.id === job.id) {
        this.slots[i] = job
        return
      }
      i = (i + 1) & this.mask
    }
    this.slots[i] = job
    this.count++
  }

  delete(id: number): void {
    let gap = id & this.mask
    for (let held = this.slots[gap]; held?.id !== id; held = this.slots[gap]) {
      if (held === undefined) return
      gap = (gap + 1) & this.mask
    }
    // Later jobs of the same probe run move back into the gap, so that no lookup stops short at it.
    let i = gap
    for (;;) {
      i = (i + 1) & this.mask
      const job = this.slots[i]
      if (job === undefined) break
      const home = job.id & this.mask
      // It may fill the gap only if its home slot is not between the gap and where it sits.
      if (gap < i ? home > gap && home <= i : home > gap || home <= i) continue
      this.slots[gap] = job
      gap = i
    }
    this.slots[gap] = undefined
    this.count--
  }

  /** in id order: the order they were submitted */
  values(): Array<Job> {
    return this.slots.filter((job) => job !== undefined).toSorted((a, b) => a.id - b.id)
  }

  private grow(): void {
    const old = this.slots
    this.slots = Array.from({ length: 2 * old.length })
    this.mask = this.slots.length - 1
    this.count = 0
    for (const job of old) if (job !== undefined) this.set(job)
  }
}

export class WorkerSlot {
  ready = false
  /** `performance.now()` when the worker last sent anything */
  lastHeard = 0
  /** set when the pool terminates the worker on purpose; the message explains why to the tasks it fails */
  killReason: string | undefined = undefined
  lastError: unknown = undefined
  /** undoes what the observer was told when the worker became ready */
  forget: (() => void) | undefined = undefined
  readonly jobs = new JobsById()
  /** subtasks spawned by this worker's tasks, by the worker's request id */
  readonly children = new Map<number, Job>()
  /** tasks of this worker suspended on subtasks */
  suspended = 0
  /** set when the worker is being retired: it takes no new task and leaves once it holds none */
  retiring: "recycle" | "shrink" | undefined = undefined
  /** the Retire message was sent: its exit is expected */
  leaving = false
  /** tasks it has finished, for `maxTasksPerWorker` */
  tasksRun = 0
  /** a moving average of its tasks' run time (ms), as it reports them; undefined until it has */
  meanRunMs: number | undefined = undefined
  /** `clock.now()` of its last heap check, for `recycleAboveHeapMb` */
  heapCheckedAt = 0
  /** running while it sits idle in a pool that may shrink */
  idleTimer: Timer | undefined = undefined
  /** until it is ready (its start deadline), then until its age limit, then, leaving, until its exit deadline */
  deadlineTimer: Timer | undefined = undefined
  /** shared with the worker: see `Protocol.Claim` */
  readonly claims: Int32Array
  /** shared with the worker and its peers: its subtasks' counts, its hunger (see `region.ts`) */
  readonly region: Region
  /** where its tasks go, past `postMessage` (see `inbox.ts`); none for a thread that reads messages only */
  readonly inbox: SharedArrayBuffer | undefined
  private readonly inboxWriter: Inbox.InboxWriter | undefined
  /** a message went to the worker since its last batch of tasks: the next batch is posted too, not to overtake it */
  private messageSinceBatch = false
  private readonly freeClaims: Array<number> = []
  readonly id: number
  readonly thread: WorkerThread
  constructor(id: number, thread: WorkerThread, capacity: number) {
    this.id = id
    this.thread = thread
    this.claims = new Int32Array(new SharedArrayBuffer(4 * capacity))
    this.region = Region.allocate(stealSlotsBytes)
    if (thread.readsInbox === true) {
      this.inbox = Inbox.allocate()
      this.inboxWriter = new Inbox.InboxWriter(this.inbox, capacity)
    } else {
      this.inbox = undefined
      this.inboxWriter = undefined
    }
    for (let claim = capacity - 1; claim >= 0; claim--) this.freeClaims.push(claim)
  }

  /**
   * Sends it tasks: written in its inbox when they can be, else posted, with their place kept in the inbox. A worker
   * gone to sleep (hungry) is woken; one that is awake reads the inbox by itself. Throws as `postMessage` does when the
   * message cannot be sent.
   */
  sendRun(message: Protocol.RunMessage, transfer: ReadonlyArray<Transferable> | undefined): void {
    const inbox = this.inboxWriter
    if (inbox === undefined) return this.thread.postMessage(message, transfer)
    if (this.messageSinceBatch || transfer !== undefined || !inbox.writeBatch(message)) {
      const placed = inbox.hasRoomForPosted()
      message[1] = placed ? message[1] & ~Protocol.RunFlag.Unplaced : message[1] | Protocol.RunFlag.Unplaced
      this.thread.postMessage(message, transfer)
      this.messageSinceBatch = false
      if (placed) inbox.writePosted()
    }
    // Written first, then the wake-up: see worker/idle.md.
    if (this.region.claimToWake()) this.thread.postMessage([Protocol.Drain] satisfies Protocol.DrainMessage)
  }

  /**
   * Sends it any other message. Tasks sent after it wait until the worker has read it: a worker learns of a peer
   * before it runs a task whose subtasks that peer could steal, as when every message was posted.
   */
  post(message: Protocol.ToWorker, transfer?: ReadonlyArray<Transferable>): void {
    this.thread.postMessage(message, transfer)
    this.messageSinceBatch = true
  }

  /** A task of its own ended after running `runMs` in its handler. */
  ran(runMs: number): void {
    this.meanRunMs = this.meanRunMs === undefined ? runMs : this.meanRunMs + 0.1 * (runMs - this.meanRunMs)
  }

  /** Whether it may be given tasks. */
  get open(): boolean {
    return this.ready && this.killReason === undefined && this.retiring === undefined
  }

  /** Tasks that occupy the worker: those in flight, less those suspended on subtasks. */
  get load(): number {
    return this.jobs.size - this.suspended
  }

  get hasFreeClaim(): boolean {
    return this.freeClaims.length > 0
  }

  /** Places a job on this worker, in a claim cell that holds its id until the worker starts it. */
  take(job: Job): void {
    job.claim = this.freeClaims.pop()!
    Atomics.store(this.claims, job.claim, job.id)
    job.worker = this
    this.jobs.set(job)
  }

  /** The worker is done with the job (it answered, or the job was taken back): its cell can be reused. */
  release(job: Job): void {
    this.jobs.delete(job.id)
    this.freeClaims.push(job.claim)
  }

  /** Whether the worker has started the job (it may be running it now). */
  hasStarted(job: Job): boolean {
    const cell = Atomics.load(this.claims, job.claim)
    return cell === Protocol.Claim.Started || cell === Protocol.Claim.CancelRequested
  }

  /** Takes back a job the worker has not started; false if it already has. */
  revoke(job: Job): boolean {
    if (Atomics.compareExchange(this.claims, job.claim, job.id, Protocol.Claim.Revoked) !== job.id) return false
    this.release(job)
    return true
  }
}
