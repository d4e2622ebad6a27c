/**
 * The jobs on the main thread that no worker holds: the queue (admitted, payload encoded, waiting for a worker) and,
 * beyond the queue's bound, the callers suspended until there is room (payload not yet encoded). Their counts are
 * kept here and nowhere else.
 *
 * The queue has a lane per priority. The next job is the head of the lane with the highest priority once aged: a
 * head gains one level per `agingMs` it has waited, so a low-priority job overtakes newer high-priority ones in the
 * end and never starves. With one priority in use (the default), it is a plain FIFO.
 *
 * A job that leaves early (interrupted) stays in its deque, skipped when reached, and a deque is compacted once such
 * leftovers outnumber its live jobs.
 */
import { Deque } from "./deque.ts"
import { type Job, State } from "./job.ts"

interface Lane {
  readonly priority: number
  readonly jobs: Deque<Job>
  /** live (still queued) jobs in it */
  live: number
}

export class JobQueue {
  /** highest priority first */
  private lanes: Array<Lane> = []
  private readonly waiting = new Deque<Job>()
  private queuedCount = 0
  private waitingCount = 0
  private readonly agingMs: number
  constructor(agingMs: number) {
    this.agingMs = agingMs
  }

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
    this.laneFor(job).jobs.push(job)
  }

  /** A job taken back from a worker: first in its lane. */
  enqueueFirst(job: Job): void {
    this.laneFor(job).jobs.unshift(job)
  }

  /** Counts a job in as queued; its lane. */
  private laneFor(job: Job): Lane {
    job.state = State.Queued
    this.queuedCount++
    const lane = this.laneOf(job.priority)
    lane.live++
    return lane
  }

  suspend(job: Job): void {
    job.state = State.Waiting
    this.waitingCount++
    this.waiting.push(job)
  }

  /** The next queued job (see the module doc), leaving the queue; its state is the caller's to set. */
  takeQueued(now: number): Job | undefined {
    if (this.queuedCount === 0) return undefined
    let best: Lane | undefined
    let bestRank = 0
    for (const lane of this.lanes) {
      const head = liveHead(lane)
      if (head === undefined) continue
      if (this.lanes.length === 1) {
        best = lane
        break
      }
      const rank = lane.priority + (now - head.queuedAt) / this.agingMs
      if (best === undefined || rank > bestRank) {
        best = lane
        bestRank = rank
      }
    }
    if (best === undefined) return undefined
    const job = best.jobs.shift()!
    best.live--
    this.queuedCount--
    return job
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
    if (job.state === State.Queued) {
      this.queuedCount--
      const lane = this.laneOf(job.priority)
      lane.live--
      if (lane.jobs.length > 1024 && lane.jobs.length > 2 * lane.live) {
        lane.jobs.retain((queued) => queued.state === State.Queued && queued !== job)
      }
    } else if (job.state === State.Waiting) {
      this.waitingCount--
      if (this.waiting.length > 1024 && this.waiting.length > 2 * this.waitingCount) {
        this.waiting.retain((waiting) => waiting.state === State.Waiting && waiting !== job)
      }
    }
  }

  /** Every job still queued or suspended: the queue's lanes, highest first, then the waiting line; all emptied. */
  takeAll(): Array<Job> {
    const all: Array<Job> = []
    for (const lane of this.lanes) {
      for (let job = lane.jobs.shift(); job !== undefined; job = lane.jobs.shift()) {
        if (job.state === State.Queued) all.push(job)
      }
    }
    for (let job = this.waiting.shift(); job !== undefined; job = this.waiting.shift()) {
      if (job.state === State.Waiting) all.push(job)
    }
    return all
  }

  private laneOf(priority: number): Lane {
    for (const lane of this.lanes) if (lane.priority === priority) return lane
    const lane: Lane = { priority, jobs: new Deque(), live: 0 }
    this.lanes = [...this.lanes, lane].toSorted((a, b) => b.priority - a.priority)
    return lane
  }
}

/** The lane's first job still queued; those ended early are dropped on the way. */
const liveHead = (lane: Lane): Job | undefined => {
  for (let job = lane.jobs.peek(); job !== undefined; job = lane.jobs.peek()) {
    if (job.state === State.Queued) return job
    lane.jobs.shift()
  }
  return undefined
}
