/**
 * The main thread's handle on one worker: its thread, the jobs it holds, and the claim cells it shares with it.
 */
import type { Job } from "./job.ts"
import * as Protocol from "./protocol.ts"
import type { Timer, WorkerThread } from "./thread.ts"

/**
 * The jobs a worker holds, by id, in a plain object rather than a `Map`: V8 links each hash table a `Map` outgrows to
 * its successor, so once a busy `Map`'s table is tenured, every job added after it is dragged into the old generation
 * too (the main thread's GC time then doubles or worse, for good, in a run of small tasks).
 */
export class JobsById {
  private readonly byId: Record<number, Job> = Object.create(null)
  private count = 0

  get size(): number {
    return this.count
  }

  get(id: number): Job | undefined {
    return this.byId[id]
  }

  set(job: Job): void {
    if (this.byId[job.id] === undefined) this.count++
    this.byId[job.id] = job
  }

  delete(id: number): void {
    if (this.byId[id] === undefined) return
    delete this.byId[id]
    this.count--
  }

  /** in id order: the order they were submitted */
  values(): Array<Job> {
    return Object.values(this.byId)
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
  /** `clock.now()` of its last heap check, for `recycleAboveHeapMb` */
  heapCheckedAt = 0
  /** running while it sits idle in a pool that may shrink */
  idleTimer: Timer | undefined = undefined
  /** until it is ready (its start deadline), then until its age limit, then, leaving, until its exit deadline */
  deadlineTimer: Timer | undefined = undefined
  /** shared with the worker: see `Protocol.Claim` */
  readonly claims: Int32Array
  private readonly freeClaims: Array<number> = []
  readonly id: number
  readonly thread: WorkerThread
  constructor(id: number, thread: WorkerThread, capacity: number) {
    this.id = id
    this.thread = thread
    this.claims = new Int32Array(new SharedArrayBuffer(4 * capacity))
    for (let claim = capacity - 1; claim >= 0; claim--) this.freeClaims.push(claim)
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
