/**
 * The jobs on the main thread that no worker holds: the queue (admitted, payload encoded, waiting for a worker) and,
 * beyond the queue's bound, the callers suspended until there is room (payload not yet encoded). Their counts are
 * kept here and nowhere else. A job that leaves early (interrupted) stays in its deque, skipped when reached, and the
 * deques are compacted once such leftovers outnumber the live jobs.
 */
import { Deque } from "./deque.ts"
import { type Job, State } from "./job.ts"

export class JobQueue {
  private readonly queue = new Deque<Job>()
  private readonly waiting = new Deque<Job>()
  private queuedCount = 0
  private waitingCount = 0

  /** admitted jobs waiting for a worker */
  get queued(): number {
    return this.queuedCount
  }

  /** callers suspended beyond the queue's bound */
  get suspended(): number {
    return this.waitingCount
  }

  /** everything waiting on the main thread */
  get depth(): number {
    return this.queuedCount + this.waitingCount
  }

  enqueue(job: Job): void {
    job.state = State.Queued
    this.queuedCount++
    this.queue.push(job)
  }

  /** A job taken back from a worker: first in line. */
  enqueueFirst(job: Job): void {
    job.state = State.Queued
    this.queuedCount++
    this.queue.unshift(job)
  }

  suspend(job: Job): void {
    job.state = State.Waiting
    this.waitingCount++
    this.waiting.push(job)
  }

  /** The oldest queued job, leaving the queue (its state is the caller's to set). */
  takeQueued(): Job | undefined {
    for (let job = this.queue.shift(); job !== undefined; job = this.queue.shift()) {
      if (job.state !== State.Queued) continue
      this.queuedCount--
      return job
    }
    return undefined
  }

  /** The oldest suspended caller, leaving the waiting line. */
  takeWaiting(): Job | undefined {
    for (let job = this.waiting.shift(); job !== undefined; job = this.waiting.shift()) {
      if (job.state !== State.Waiting) continue
      this.waitingCount--
      return job
    }
    return undefined
  }

  /** A queued or suspended job leaves before its turn (it ended): it no longer counts. */
  forget(job: Job): void {
    if (job.state === State.Queued) this.queuedCount--
    else if (job.state === State.Waiting) this.waitingCount--
    if (this.queue.length > 1024 && this.queue.length > 2 * this.queuedCount) {
      this.queue.retain((queued) => queued.state === State.Queued && queued !== job)
    }
    if (this.waiting.length > 1024 && this.waiting.length > 2 * this.waitingCount) {
      this.waiting.retain((waiting) => waiting.state === State.Waiting && waiting !== job)
    }
  }

  /** Every job still queued or suspended, oldest first, the queue's before the waiting line's; both are emptied. */
  takeAll(): Array<Job> {
    const all: Array<Job> = []
    for (let job = this.queue.shift(); job !== undefined; job = this.queue.shift()) {
      if (job.state === State.Queued) all.push(job)
    }
    for (let job = this.waiting.shift(); job !== undefined; job = this.waiting.shift()) {
      if (job.state === State.Waiting) all.push(job)
    }
    return all
  }
}
