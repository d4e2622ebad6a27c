/**
 * The pool's machinery on the main thread: admission, the bounded queue, dispatch to the least-loaded worker,
 * results, cancellation, crash recovery and shutdown.
 *
 * It is plain callbacks, not fibers: the dispatch path of one task is a few object writes and, per batch of tasks,
 * one `postMessage`. `ComputePool` wraps it in Effects.
 */
import * as Schema from "effect/Schema"
import { performance } from "node:perf_hooks"
import type { Transferable, Worker as NodeWorker } from "node:worker_threads"
import * as ComputeTask from "../ComputeTask.ts"
import * as Codec from "./codec.ts"
import { Deque } from "./deque.ts"
import { Job, State } from "./job.ts"
import * as Protocol from "./protocol.ts"
import type { Settlement } from "./settlement.ts"
import { WorkerSlot } from "./workerSlot.ts"

/** Claim cells beyond `maxInFlightPerWorker`, for tasks suspended while their subtasks run (nested parallelism). */
const suspendedCapacity = 4_096

/**
 * Stand-ins for tasks spawned inside workers: the main thread may not have imported them, and does not need to — the
 * payload arrives encoded and the results go back encoded, to be decoded by the spawning worker.
 */
const forwardedTasks = new Map<string, ComputeTask.Any>()
const forwardedTask = (name: string): ComputeTask.Any => {
  let task = forwardedTasks.get(name)
  if (task === undefined) {
    task = ComputeTask.make(name, {
      payload: Schema.Any,
      success: Schema.Any,
      failure: Schema.Any,
      handler: () => {
        throw new Error(`task "${name}" runs in a worker, not on the main thread`)
      }
    })
    forwardedTasks.set(name, task)
  }
  return task
}

const interrupted: Settlement = { _tag: "Interrupted" }

const outcomeOf = (settlement: Settlement): OutcomeName => {
  switch (settlement._tag) {
    case "Success":
      return "success"
    case "Defect":
      return "defect"
    case "Interrupted":
      return "interrupted"
    case "Crashed":
      return "crashed"
    case "Encoding":
      // A payload that could not be sent or read never ran.
      return settlement.direction === "payload" ? "rejected" : "failure"
    default:
      return "failure"
  }
}

/** One Run message being built for a worker: the message, the jobs in it (in order) and what it moves. */
interface Batch {
  readonly message: Protocol.RunMessage
  readonly jobs: Array<Job>
  transfer: Array<Transferable> | undefined
}

/** Replacement workers that may fail to start in a row, with none alive, before queued tasks are failed. */
const maxStartFailures = 3

/** A worker with tasks in flight that has said nothing for this long is busy in a long task. */
const quietAfterMs = 3

export interface PoolOptions {
  readonly threads: number
  readonly maxInFlightPerWorker: number
  readonly maxQueue: number
  readonly onQueueFull: "suspend" | "fail"
  readonly interruptGraceMs: number
}

/** How a task ended, as metrics name it. */
export type OutcomeName = "success" | "failure" | "defect" | "interrupted" | "crashed" | "rejected"

/** Told of every step of every task, to keep metrics; all calls are synchronous and cheap. */
export interface PoolObserver {
  readonly submitted: (task: string) => void
  readonly dispatched: (task: string, waitMs: number) => void
  /** `runMs` is the handler's time in its worker, when the worker reported one */
  readonly completed: (task: string, outcome: OutcomeName, runMs: number | undefined) => void
  readonly restarted: () => void
  readonly gauges: (active: number, queued: number, live: number) => void
  /** A worker is ready; the function returned is called when it exits. */
  readonly workerReady: (workerId: number, utilization: () => number) => () => void
}

/** Counts of outcomes, for tests and the metrics snapshot: every submitted job lands in exactly one. */
export interface OutcomeCounts {
  submitted: number
  succeeded: number
  failed: number
  defects: number
  interrupted: number
  crashed: number
  rejected: number
  /** tasks taken back from a busy worker and sent to an idle one (not an outcome) */
  stolen: number
}

export const noOutcomes = (): OutcomeCounts => ({
  submitted: 0,
  succeeded: 0,
  failed: 0,
  defects: 0,
  interrupted: 0,
  crashed: 0,
  rejected: 0,
  stolen: 0
})

export class PoolCore {
  private readonly workers: Array<WorkerSlot> = []
  private readonly queue = new Deque<Job>()
  private readonly waiting = new Deque<Job>()
  private queuedCount = 0
  private waitingCount = 0
  private outstanding = 0
  private nextJobId = 1
  private nextWorkerId = 0
  private dispatchScheduled = false
  private stealTimer: ReturnType<typeof setTimeout> | undefined = undefined
  private closing = false
  private closed = false
  private recentCrashes = 0
  /** replacement workers that died before they were ready, in a row */
  private startFailures = 0
  private readonly respawnTimers = new Set<ReturnType<typeof setTimeout>>()
  private drained: (() => void) | undefined = undefined
  private startWaiter: { pending: number; resolve: () => void; reject: (s: Settlement) => void } | undefined
  readonly counts: OutcomeCounts = noOutcomes()
  /** Worker restarts after a crash or a kill. */
  restarts = 0

  readonly options: PoolOptions
  private readonly spawnThread: (id: number) => NodeWorker
  private readonly observer: PoolObserver | undefined
  constructor(options: PoolOptions, spawnThread: (id: number) => NodeWorker, observer?: PoolObserver) {
    this.options = options
    this.spawnThread = spawnThread
    this.observer = observer
  }

  /** Counts one outcome of one task: the only place outcomes are counted. */
  private record(task: ComputeTask.Any, outcome: OutcomeName, runMs?: number): void {
    switch (outcome) {
      case "success":
        this.counts.succeeded++
        break
      case "failure":
        this.counts.failed++
        break
      case "defect":
        this.counts.defects++
        break
      case "interrupted":
        this.counts.interrupted++
        break
      case "crashed":
        this.counts.crashed++
        break
      case "rejected":
        this.counts.rejected++
    }
    this.observer?.completed(task.name, outcome, runMs)
  }

  private updateGauges(): void {
    this.observer?.gauges(this.activeJobs, this.queueDepth, this.workers.length)
  }

  get liveWorkers(): number {
    return this.workers.length
  }

  get activeJobs(): number {
    let active = 0
    for (const worker of this.workers) active += worker.jobs.size
    return active
  }

  /** Each ready worker's event-loop utilisation since it started (0..1). */
  utilization(): Array<number> {
    return this.workers.filter((worker) => worker.ready).map((worker) =>
      worker.thread.performance.eventLoopUtilization().utilization
    )
  }

  get queueDepth(): number {
    return this.queuedCount + this.waitingCount
  }

  /** Spawns the initial workers; resolves when all are ready, or fails with the first one that could not start. */
  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.startWaiter = { pending: this.options.threads, resolve, reject }
      for (let i = 0; i < this.options.threads; i++) this.spawn()
    })
  }

  submit(
    task: ComputeTask.Any,
    kind: Protocol.Kind,
    payload: unknown,
    settle: (settlement: Settlement) => void,
    trace?: readonly [string, string],
    transfer?: ReadonlyArray<Transferable>
  ): Job | undefined {
    this.counts.submitted++
    this.observer?.submitted(task.name)
    if (this.closing) {
      this.record(task, "rejected")
      settle({ _tag: "Closed", message: `the pool is closed; task "${task.name}" was not run` })
      return undefined
    }
    if (this.queuedCount >= this.options.maxQueue && this.options.onQueueFull === "fail") {
      this.record(task, "rejected")
      settle({ _tag: "QueueFull", capacity: this.options.maxQueue })
      return undefined
    }
    const job = new Job(this.nextJobId++, task, kind, payload, settle)
    job.trace = trace
    job.transfer = transfer === undefined || transfer.length === 0 ? undefined : transfer
    this.outstanding++
    // Behind anyone already suspended, to keep callers in order.
    if (this.queuedCount >= this.options.maxQueue || this.waitingCount > 0) {
      this.waitingCount++
      this.waiting.push(job)
      return job
    }
    if (!this.admit(job)) {
      this.finished()
      return undefined
    }
    this.scheduleDispatch()
    return job
  }

  /**
   * Stops a job whose caller was interrupted; `stopped` runs once the job can no longer run: at once when it was
   * still queued, when its worker reports it ended, or when that worker was terminated after the grace period.
   */
  cancel(job: Job, stopped: () => void): void {
    switch (job.state) {
      case State.Waiting:
      case State.Queued: {
        // Left in its deque, where dispatch skips it; compacted when such leftovers pile up.
        const wasQueued = job.state === State.Queued
        if (wasQueued) this.queuedCount--
        else this.waitingCount--
        job.state = State.Done
        job.cancelled = true
        this.record(job.task, "interrupted")
        this.finished()
        if (wasQueued) this.admitWaiting()
        this.compactIfStale()
        return stopped()
      }
      case State.Running: {
        if (job.cancelled) {
          // Already being stopped (a subtask whose parent was interrupted, say): tell this caller too.
          const previous = job.stopped
          job.stopped = () => {
            previous?.()
            stopped()
          }
          return
        }
        const worker = job.worker!
        job.cancelled = true
        job.stopped = stopped
        // Its subtasks stop too, at once: one of them may be the loop that keeps this task's thread from hearing.
        for (const child of Array.from(job.children)) this.cancelChild(child)
        if (worker.revoke(job)) {
          // It had not started: it never will.
          this.complete(job, { _tag: "Interrupted" })
          if (this.queuedCount > 0) this.scheduleDispatch()
          return
        }
        Atomics.compareExchange(worker.claims, job.claim, Protocol.Claim.Started, Protocol.Claim.CancelRequested)
        worker.thread.postMessage([Protocol.Cancel, job.id] satisfies Protocol.CancelMessage)
        job.graceTimer = setTimeout(() => {
          job.graceTimer = undefined
          if (job.state === State.Running) {
            this.kill(
              worker,
              `task "${job.task.name}" ignored its interruption for ${this.options.interruptGraceMs} ms, ` +
                `so its worker was terminated`
            )
          }
        }, this.options.interruptGraceMs)
        return
      }
      case State.Done:
        return stopped()
    }
  }

  /** Closing: new submissions fail; resolves when every outstanding job ended, or after `timeoutMs`. */
  drain(timeoutMs: number): Promise<void> {
    this.closing = true
    this.failWaitingIfNoWorkers()
    if (this.outstanding === 0) return Promise.resolve()
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.drained = undefined
        resolve()
      }, timeoutMs)
      this.drained = () => {
        clearTimeout(timer)
        this.drained = undefined
        resolve()
      }
    })
  }

  /** Fails what is left with `Closed` and terminates every worker. */
  async close(): Promise<void> {
    this.closing = true
    this.closed = true
    for (const timer of this.respawnTimers) clearTimeout(timer)
    this.respawnTimers.clear()
    if (this.stealTimer !== undefined) clearTimeout(this.stealTimer)
    const leftover = (job: Job, message: string) => {
      if (job.state === State.Done) return
      if (job.graceTimer !== undefined) clearTimeout(job.graceTimer)
      const wasCancelled = job.cancelled
      job.state = State.Done
      if (wasCancelled) {
        this.record(job.task, "interrupted")
        job.stopped?.()
      } else {
        // Dispatched or not, it never ran to an end of its own.
        this.record(job.task, "rejected")
        job.settle({ _tag: "Closed", message })
      }
    }
    for (let job = this.waiting.shift(); job !== undefined; job = this.waiting.shift()) {
      leftover(job, `the pool closed before task "${job.task.name}" could run`)
    }
    for (let job = this.queue.shift(); job !== undefined; job = this.queue.shift()) {
      leftover(job, `the pool closed before task "${job.task.name}" could run`)
    }
    this.waitingCount = 0
    this.queuedCount = 0
    const terminations: Array<Promise<unknown>> = []
    for (const worker of this.workers.splice(0)) {
      worker.killReason = "the pool closed"
      for (const job of worker.jobs.values()) {
        leftover(job, `task "${job.task.name}" was still running when the pool's drain timeout ran out`)
      }
      worker.jobs.clear()
      terminations.push(worker.thread.terminate())
    }
    this.outstanding = 0
    await Promise.allSettled(terminations)
  }

  private admit(job: Job): boolean {
    const encoded = job.kind === Protocol.Kind.Chunk
      ? Codec.encodeAll(job.task.payload, job.payload as ReadonlyArray<unknown>)
      : Codec.encode(job.task.payload, job.payload)
    if (!encoded.ok) {
      this.record(job.task, "rejected")
      job.state = State.Done
      job.settle({
        _tag: "Encoding",
        direction: "payload",
        message: `the payload of task "${job.task.name}" could not be encoded: ${encoded.error}`
      })
      return false
    }
    job.encoded = encoded.value
    job.state = State.Queued
    job.queuedAt = performance.now()
    this.queuedCount++
    this.queue.push(job)
    return true
  }

  private readonly runDispatch = () => {
    this.dispatchScheduled = false
    this.dispatch()
  }

  private scheduleDispatch(): void {
    if (this.dispatchScheduled) return
    this.dispatchScheduled = true
    // Everything submitted in the same tick goes out together: one message per worker. When every worker is busy
    // anyway, wait for the end of this turn of the event loop (after all pending results were handled) to send
    // bigger batches; an idle worker gets its task at once.
    if (this.hasIdleWorker()) queueMicrotask(this.runDispatch)
    else setImmediate(this.runDispatch)
  }

  private hasIdleWorker(): boolean {
    for (const worker of this.workers) if (worker.ready && worker.load === 0) return true
    return false
  }

  /**
   * The ready worker with the fewest tasks in flight and room for one more. A worker that has gone quiet with work
   * in hand (busy in a long task: workers report at least every millisecond otherwise) gets nothing more, so tasks
   * wait here, where any worker that frees up can take them, rather than behind that long task.
   */
  private leastLoaded(now: number): WorkerSlot | undefined {
    let best: WorkerSlot | undefined
    for (const worker of this.workers) {
      if (!worker.ready || worker.killReason !== undefined || !worker.hasFreeClaim) continue
      const inFlight = worker.load
      if (inFlight >= this.options.maxInFlightPerWorker) continue
      if (inFlight > 0 && now - worker.lastHeard > quietAfterMs) continue
      if (best === undefined || inFlight < best.load) best = worker
    }
    return best
  }

  private dispatch(): void {
    let batches: Map<WorkerSlot, Batch> | undefined
    const now = performance.now()
    if (this.queuedCount === 0) this.stealForIdle(now)
    while (this.queuedCount > 0) {
      const worker = this.leastLoaded(now)
      if (worker === undefined) break
      const job = this.queue.shift()!
      if (job.state !== State.Queued) continue
      this.queuedCount--
      this.admitWaiting()
      job.state = State.Running
      job.waitMs = now - job.queuedAt
      this.observer?.dispatched(job.task.name, job.waitMs)
      // An idle worker's quiet spell starts with its first task, not with its last answer.
      if (worker.load === 0) worker.lastHeard = now
      worker.take(job)
      batches ??= new Map()
      let batch = batches.get(worker)
      if (batch === undefined) {
        batch = { message: Protocol.runMessage(), jobs: [], transfer: undefined }
        batches.set(worker, batch)
      }
      // The encoded payload stays with the job until it ends, in case it is taken back and sent elsewhere.
      Protocol.pushRunEntry(batch.message, {
        id: job.id,
        name: job.task.name,
        kind: job.kind,
        claim: job.claim,
        payload: job.encoded,
        trace: job.trace
      })
      batch.jobs.push(job)
      if (job.transfer !== undefined) (batch.transfer ??= []).push(...job.transfer)
    }
    if (batches === undefined) return
    this.updateGauges()
    // A lone task (nothing else in flight or queued) wants its result back at once; under load, results coalesce.
    if (batches.size === 1 && this.queuedCount === 0) {
      const [[worker, batch]] = batches
      const sent = batch.jobs.length
      if (worker.jobs.size === sent && this.activeJobs === sent) batch.message[1] = 1
    }
    for (const [worker, batch] of batches) this.post(worker, batch)
  }

  /** Drops interrupted jobs from the deques once they outnumber the live ones (a stream of timeouts, say). */
  private compactIfStale(): void {
    if (this.queue.length > 1024 && this.queue.length > 2 * this.queuedCount) {
      this.queue.retain((job) => job.state === State.Queued)
    }
    if (this.waiting.length > 1024 && this.waiting.length > 2 * this.waitingCount) {
      this.waiting.retain((job) => job.state === State.Waiting)
    }
  }

  /**
   * Work stealing: while a worker sits idle, takes back the tasks that a quiet worker (busy in a long task) holds but
   * has not started, and puts them first in the queue for the idle one. A worker not yet quiet is checked again soon.
   * A task that moved buffers (`transfer`) stays where it is: its buffers now live in that worker, so sending it
   * elsewhere would send empty, detached ones.
   */
  private stealForIdle(now: number): void {
    if (!this.workers.some((worker) => worker.ready && worker.killReason === undefined && worker.load === 0)) return
    let recheck = false
    for (const worker of this.workers) {
      if (worker.load <= 1 || worker.killReason !== undefined) continue
      if (now - worker.lastHeard <= quietAfterMs) {
        recheck = true
        continue
      }
      const taken = [...worker.jobs.values()].filter((job) => job.transfer === undefined && worker.revoke(job))
      for (let i = taken.length - 1; i >= 0; i--) {
        const job = taken[i]!
        job.state = State.Queued
        job.worker = undefined
        this.queuedCount++
        this.queue.unshift(job)
        this.counts.stolen++
      }
    }
    if (recheck && this.stealTimer === undefined) {
      this.stealTimer = setTimeout(() => {
        this.stealTimer = undefined
        this.dispatch()
      }, quietAfterMs + 1)
    }
  }

  private admitWaiting(): void {
    while (this.waitingCount > 0 && this.queuedCount < this.options.maxQueue) {
      const job = this.waiting.shift()!
      if (job.state !== State.Waiting) continue
      this.waitingCount--
      if (!this.admit(job)) this.finished()
    }
  }

  private post(worker: WorkerSlot, batch: Batch): void {
    try {
      worker.thread.postMessage(batch.message, batch.transfer)
      return
    } catch {
      // Something in the batch cannot be cloned (or moved): send one by one so only the culprits fail.
    }
    for (let index = 0; index < batch.jobs.length; index++) {
      const job = batch.jobs[index]!
      try {
        worker.thread.postMessage(Protocol.runMessageOf(batch.message, index), job.transfer)
      } catch (cause) {
        worker.revoke(job)
        this.complete(job, {
          _tag: "Encoding",
          direction: "payload",
          message: `the payload of task "${job.task.name}" could not be sent to a worker: ${
            Protocol.errorInfo(cause).message
          }`
        })
      }
    }
  }

  private onResults(worker: WorkerSlot, message: Protocol.ResultsMessage): void {
    // A worker that finishes tasks is not part of a crash loop: the respawn backoff starts over.
    this.recentCrashes = 0
    Protocol.forEachResult(message, (id, outcome, value, runMs) => {
      const job = worker.jobs.get(id)
      if (job === undefined) return
      worker.release(job)
      this.complete(job, this.settlementOf(job, worker, outcome, value), runMs)
    })
    this.updateGauges()
    // More work for this worker, or, once it is idle, work to take from a busy one.
    if (this.queuedCount > 0 || worker.load === 0) this.scheduleDispatch()
  }

  private settlementOf(job: Job, worker: WorkerSlot, outcome: Protocol.Outcome, value: unknown): Settlement {
    switch (outcome) {
      case Protocol.Outcome.Success: {
        const decoded = job.kind === Protocol.Kind.Chunk
          ? Codec.decodeAll(job.task.success, value as ReadonlyArray<unknown>)
          : Codec.decode(job.task.success, value)
        return decoded.ok ? { _tag: "Success", value: decoded.value } : {
          _tag: "Encoding",
          direction: "result",
          message: `the result of task "${job.task.name}" could not be decoded: ${decoded.error}`
        }
      }
      case Protocol.Outcome.Failure: {
        const decoded = Codec.decode(job.task.failure, value)
        return decoded.ok ? { _tag: "Failure", error: decoded.value } : {
          _tag: "Encoding",
          direction: "result",
          message: `the failure of task "${job.task.name}" could not be decoded: ${decoded.error}`
        }
      }
      case Protocol.Outcome.Defect:
        return { _tag: "Defect", workerId: worker.id, info: value as Protocol.ErrorInfo }
      case Protocol.Outcome.Interrupted:
        return { _tag: "Interrupted" }
      case Protocol.Outcome.NotServed:
        return { _tag: "NotServed" }
      case Protocol.Outcome.ComputeFailure:
        return { _tag: "ComputeFailure", encoded: value }
      case Protocol.Outcome.PayloadUndecodable:
        return {
          _tag: "Encoding",
          direction: "payload",
          message: `the worker could not decode the payload of task "${job.task.name}": ${String(value)}`
        }
      default:
        return { _tag: "Encoding", direction: "result", message: `task "${job.task.name}": ${String(value)}` }
    }
  }

  /** The single exit of a dispatched job: counts it once and tells its caller (or its interrupter). */
  private complete(job: Job, settlement: Settlement, runMs?: number): void {
    if (job.state === State.Done) return
    job.state = State.Done
    job.runMs = runMs
    job.encoded = undefined
    if (job.graceTimer !== undefined) clearTimeout(job.graceTimer)
    if (job.cancelled) {
      this.record(job.task, "interrupted", runMs)
      job.stopped?.()
    } else {
      this.record(job.task, outcomeOf(settlement), runMs)
      job.settle(settlement)
    }
    this.finished()
  }

  private finished(): void {
    this.outstanding--
    if (this.outstanding === 0 && this.drained !== undefined) this.drained()
  }

  private spawn(): void {
    const id = this.nextWorkerId++
    let thread: NodeWorker
    try {
      thread = this.spawnThread(id)
    } catch (cause) {
      this.onStartFailed(id, `worker ${id} could not be spawned: ${Protocol.errorInfo(cause).message}`)
      return
    }
    const worker = new WorkerSlot(id, thread, this.options.maxInFlightPerWorker + suspendedCapacity)
    this.workers.push(worker)
    thread.on("message", (message: Protocol.FromWorker) => {
      worker.lastHeard = performance.now()
      switch (message[0]) {
        case Protocol.Results:
          return this.onResults(worker, message)
        case Protocol.Ready:
          return this.onReady(worker)
        case Protocol.Spawn:
          return this.onSpawn(worker, message[1], message[2], message[3], message[4], message[5])
        case Protocol.CancelChild: {
          const child = worker.children.get(message[1])
          if (child !== undefined) this.cancelChild(child)
          return
        }
        case Protocol.StartFailed: {
          const info = message[1]
          worker.killReason = `worker ${id} failed to start, its per-worker Layer failed: ${info.message}`
          void thread.terminate()
          return this.onStartFailed(id, `worker ${id} failed to start: ${info.stack ?? info.message}`)
        }
      }
    })
    thread.on("error", (error) => {
      worker.lastError = error
    })
    thread.on("exit", (code) => this.onExit(worker, code))
    thread.postMessage(
      [Protocol.Init, id, worker.claims.buffer as SharedArrayBuffer, this.options.threads] satisfies Protocol.InitMessage
    )
  }

  /** A task on `worker` uses the pool itself: run the subtask like any other, and send its outcome back there. */
  private onSpawn(
    worker: WorkerSlot,
    requestId: number,
    parentId: number,
    name: string,
    kind: Protocol.Kind,
    payload: unknown
  ) {
    // The payload was encoded in the worker; the stand-in task's schemas pass it through as it is.
    const child = this.submit(
      forwardedTask(name),
      kind,
      payload,
      (settlement) => this.answerChild(worker, requestId, settlement)
    )
    if (child === undefined) return
    child.origin = { worker, requestId }
    worker.children.set(requestId, child)
    const parent = worker.jobs.get(parentId)
    if (parent !== undefined) {
      child.parent = parent
      if (parent.children.size === 0) worker.suspended++
      parent.children.add(child)
    }
  }

  private cancelChild(child: Job): void {
    const origin = child.origin!
    this.cancel(child, () => this.answerChild(origin.worker, origin.requestId, interrupted))
  }

  private answerChild(worker: WorkerSlot, requestId: number, settlement: Settlement): void {
    const child = worker.children.get(requestId)
    if (child !== undefined) {
      worker.children.delete(requestId)
      const parent = child.parent
      if (parent !== undefined && parent.children.delete(child) && parent.children.size === 0) worker.suspended--
    }
    if (!this.closed && worker.killReason === undefined && this.workers.includes(worker)) {
      worker.thread.postMessage([Protocol.ChildResult, requestId, settlement] satisfies Protocol.ChildResultMessage)
    }
  }

  private onReady(worker: WorkerSlot): void {
    worker.ready = true
    this.startFailures = 0
    worker.forget = this.observer?.workerReady(
      worker.id,
      () => worker.thread.performance.eventLoopUtilization().utilization
    )
    this.updateGauges()
    if (this.startWaiter !== undefined && --this.startWaiter.pending === 0) {
      const { resolve } = this.startWaiter
      this.startWaiter = undefined
      resolve()
    }
    if (this.queuedCount > 0) this.dispatch()
  }

  private onStartFailed(workerId: number, message: string): void {
    if (this.startWaiter !== undefined) {
      const { reject } = this.startWaiter
      this.startWaiter = undefined
      reject({ _tag: "StartFailed", workerId, message })
    }
  }

  private kill(worker: WorkerSlot, reason: string): void {
    if (worker.killReason !== undefined) return
    worker.killReason = reason
    void worker.thread.terminate()
  }

  private onExit(worker: WorkerSlot, exitCode: number): void {
    const index = this.workers.indexOf(worker)
    if (index >= 0) this.workers.splice(index, 1)
    worker.forget?.()
    this.updateGauges()
    if (this.closed) return
    const wasReady = worker.ready
    if (!wasReady && this.startWaiter !== undefined) {
      this.onStartFailed(
        worker.id,
        `worker ${worker.id} exited with code ${exitCode} before it was ready` +
          (worker.lastError === undefined ? "" : `: ${Protocol.errorInfo(worker.lastError).message}`)
      )
      return
    }
    const why = worker.killReason ??
      (worker.lastError !== undefined
        ? `worker ${worker.id} crashed: ${Protocol.errorInfo(worker.lastError).message}`
        : `worker ${worker.id} exited with code ${exitCode}`)
    if (!wasReady) this.onReplacementFailed(worker.id, why)
    for (const job of worker.jobs.values()) {
      this.complete(job, { _tag: "Crashed", workerId: worker.id, exitCode, message: why })
    }
    worker.jobs.clear()
    // Subtasks whose spawning task died with it have no one to answer to.
    for (const child of Array.from(worker.children.values())) this.cancel(child, () => {})
    worker.children.clear()
    if (this.closing && this.outstanding === 0) return
    this.restarts++
    this.observer?.restarted()
    this.respawnWithBackoff()
  }

  /**
   * A replacement worker died before it was ready (its entry or Layer fails now). Respawning goes on with backoff,
   * but once several in a row have failed and no worker is left, queued callers are told now rather than left
   * waiting for a worker that may never come.
   */
  private onReplacementFailed(workerId: number, why: string): void {
    this.startFailures++
    if (this.startFailures < maxStartFailures || this.workers.some((worker) => worker.ready)) return
    const message = `no worker could start (${this.startFailures} attempts in a row); the last: ${why}`
    for (const deque of [this.queue, this.waiting]) {
      for (let job = deque.shift(); job !== undefined; job = deque.shift()) {
        if (job.state !== State.Queued && job.state !== State.Waiting) continue
        job.state = State.Done
        this.record(job.task, "rejected")
        job.settle({ _tag: "StartFailed", workerId, message })
        this.finished()
      }
    }
    this.queuedCount = 0
    this.waitingCount = 0
    this.updateGauges()
  }

  /** Replaces a dead worker at once, then with growing delays while workers die without finishing anything. */
  private respawnWithBackoff(): void {
    const delay = this.recentCrashes === 0 ? 0 : Math.min(25 * 2 ** (this.recentCrashes - 1), 2_000)
    this.recentCrashes++
    if (delay === 0) return this.spawn()
    const timer = setTimeout(() => {
      this.respawnTimers.delete(timer)
      if (!this.closed) this.spawn()
    }, delay)
    this.respawnTimers.add(timer)
  }

  /** While closing with no worker left, nothing queued can run: fail it now rather than wait for the timeout. */
  private failWaitingIfNoWorkers(): void {
    if (this.workers.length > 0) return
    for (const deque of [this.waiting, this.queue]) {
      for (let job = deque.shift(); job !== undefined; job = deque.shift()) {
        if (job.state === State.Done) continue
        job.state = State.Done
        this.record(job.task, "rejected")
        job.settle({ _tag: "Closed", message: `the pool closed before task "${job.task.name}" could run` })
        this.finished()
      }
    }
    this.waitingCount = 0
    this.queuedCount = 0
  }
}
