/**
 * The pool's machinery on the main thread: admission, dispatch to the least-loaded worker in batches, work stealing,
 * broadcasts, results, cancellation and shutdown. Every job leaves through {@link Dispatcher.end}, which counts its
 * outcome once.
 *
 * One concept — moving jobs from callers to workers and their outcomes back — kept in one file (over 400 lines)
 * because dispatch, stealing, broadcasts, results and cancellation all act on the same jobs and workers. Its parts
 * that stand alone are modules of their own: the queue with its priority lanes (`jobQueue.ts`), the live workers —
 * replacement, recycling, elastic size (`workers.ts`), poison tasks (`quarantine.ts`), outcomes
 * (`wire/outcome.ts`), what a worker's report means (`wire/settlement.ts`), subtasks (`subtasks.ts`), the thread and
 * clock (`thread.ts`), and when callers resume (`callers.ts`).
 *
 * It is plain callbacks, not fibers: the dispatch path of one task is a few object writes and, per batch of tasks,
 * one `postMessage`. `ComputePool` wraps it in Effects.
 */
import type { Transferable } from "node:worker_threads"
import type * as ComputeTask from "../../ComputeTask.ts"
import { StealSlots } from "../shared/stealSlots.ts"
import * as Codec from "../wire/codec.ts"
import { noOutcomes, type Outcome, type OutcomeCounts, outcomeOf } from "../wire/outcome.ts"
import * as Protocol from "../wire/protocol.ts"
import { fromWorker, type Settlement } from "../wire/settlement.ts"
import { Callers } from "./callers.ts"
import { Job, State } from "./job.ts"
import { JobQueue } from "./jobQueue.ts"
import { Quarantine, type QuarantineOptions } from "./quarantine.ts"
import { Subtasks } from "./subtasks.ts"
import type { Clock, Timer, WorkerThread } from "./thread.ts"
import { Workers, type WorkersPolicy } from "./workers.ts"
import type { WorkerSlot } from "./workerSlot.ts"

/** A worker with tasks in flight that has said nothing for this long is busy in a long task. */
export const quietAfterMs = 3

/**
 * A worker whose tasks run under this long on average (ms) may hold `maxInFlightForTinyTasks`: 64 tasks of 50 µs are
 * at most 3.2 ms of work queued on one worker, out of reach of priorities and of idle peers.
 */
export const tinyTaskMs = 0.05

export interface DispatcherOptions extends WorkersPolicy {
  readonly maxQueue: number
  readonly onQueueFull: "suspend" | "fail"
  readonly interruptGraceMs: number
  /** a queued task gains one priority level per this many milliseconds it waits */
  readonly priorityAgingMs: number
  /** poison tasks: undefined to never quarantine */
  readonly quarantine: QuarantineOptions | undefined
}

/** Told of every step of every task, to keep metrics; all calls are synchronous and cheap. */
export interface DispatcherObserver {
  readonly submitted: (task: string) => void
  readonly dispatched: (task: string, waitMs: number, priority: number) => void
  /** `runMs` is the handler's time in its worker, when the worker reported one */
  readonly completed: (task: string, outcome: Outcome, runMs: number | undefined) => void
  /**
   * Subtasks that ran among the workers ended (each submitted and completed): how many with each outcome (in
   * `outcome.ts`'s order), and the run time of each that ran
   */
  readonly subtasksEnded: (task: string, counts: ReadonlyArray<number>, runMs: Float64Array) => void
  readonly restarted: () => void
  /** `task` crashed its worker too often: it fails at once for `forMs` */
  readonly quarantined: (task: string, crashes: number, forMs: number) => void
  readonly gauges: (active: number, queued: number, live: number, idle: number) => void
  /** a worker was retired after a recycling limit and replaced */
  readonly recycled: () => void
  /** A worker is ready; the function returned is called when it exits. */
  readonly workerReady: (workerId: number, utilization: () => number) => () => void
}

/** What a submission may carry besides its task and payload. */
export interface SubmitExtras {
  /** `[traceId, spanId]` of the caller's span */
  readonly trace?: readonly [string, string] | undefined
  /** buffers to move to the worker */
  readonly transfer?: ReadonlyArray<Transferable> | undefined
  /** higher runs first (default 0) */
  readonly priority?: number | undefined
}

/** One Run message being built for a worker: the message, the jobs in it (in order) and what it moves. */
interface Batch {
  readonly message: Protocol.RunMessage
  readonly jobs: Array<Job>
  transfer: Array<Transferable> | undefined
}

export class Dispatcher {
  private readonly jobs: JobQueue
  private readonly workers: Workers
  private readonly subtasks: Subtasks
  private readonly quarantine: Quarantine | undefined
  /** jobs submitted and not yet ended */
  private outstanding = 0
  private nextJobId = 1
  private dispatchScheduled = false
  private stealTimer: Timer | undefined = undefined
  /** grace periods of thieves asked to stop what they took from a dead worker */
  private readonly graceTimers = new Set<Timer>()
  private closing = false
  private drained: (() => void) | undefined = undefined
  /** broadcasts to apply to every new worker, the latest per task name */
  private readonly kept = new Map<string, { readonly task: ComputeTask.Any; readonly payload: unknown }>()
  readonly counts: OutcomeCounts = noOutcomes()
  /** callers resume once the step that ended their jobs is over (a crash fully handled, say) */
  readonly callers = new Callers()

  readonly options: DispatcherOptions
  private readonly clock: Clock
  private readonly observer: DispatcherObserver | undefined
  private readonly warn: (message: string) => void
  constructor(
    options: DispatcherOptions,
    spawnThread: (id: number) => WorkerThread,
    clock: Clock,
    observer?: DispatcherObserver,
    warn: (message: string) => void = () => {}
  ) {
    this.options = options
    this.jobs = new JobQueue(options.priorityAgingMs)
    this.clock = clock
    this.observer = observer
    this.warn = warn
    this.quarantine = options.quarantine === undefined ? undefined : new Quarantine(options.quarantine, clock)
    this.workers = new Workers({
      // The workers apply the policy part of the options (`WorkersPolicy`).
      ...options,
      spawnThread,
      clock,
      received: (worker, message) => this.received(worker, message),
      ready: (worker) => {
        this.updateGauges()
        // Kept broadcasts first: a replacement comes back in the state its predecessor was put in.
        for (const { payload, task } of this.kept.values()) this.reapply(worker, task, payload)
        if (this.jobs.queued > 0) this.dispatch()
      },
      exited: (worker, exitCode, why) => this.exited(worker, exitCode, why),
      settleFirst: (step) => this.callers.settleFirst(step),
      noneCanStart: (workerId, message) => this.failQueued(() => ({ _tag: "StartFailed", workerId, message })),
      watch: observer?.workerReady,
      retiring: (worker) => {
        this.takeBack(worker)
        this.updateGauges()
      },
      retired: (worker) => {
        if (worker.retiring === "recycle") this.observer?.recycled()
        this.updateGauges()
      }
    })
    this.subtasks = new Subtasks({
      submit: (task, kind, payload, settle, priority) => this.submit(task, kind, payload, settle, { priority }),
      cancel: (job, stopped) => this.cancel(job, stopped),
      isServing: (worker) => this.workers.isServing(worker)
    })
  }

  /** Task names quarantined now. */
  get quarantined(): number {
    return this.quarantine?.size ?? 0
  }

  /** Worker restarts after a crash or a kill. */
  get restarts(): number {
    return this.workers.restarts
  }

  /** Workers retired after a recycling limit and replaced. */
  get recycles(): number {
    return this.workers.recycles
  }

  get liveWorkers(): number {
    return this.workers.all.length
  }

  get activeJobs(): number {
    let active = 0
    for (const worker of this.workers.all) active += worker.jobs.size
    return active
  }

  /**
   * Every task's outcome so far — those the dispatcher ran and the subtasks the workers ran among themselves — and
   * how many are active.
   */
  tally(): { readonly counts: OutcomeCounts; readonly active: number } {
    const counts = { ...this.counts }
    const subtasksActive = this.workers.addSubtaskCounts(counts)
    return { counts, active: this.activeJobs + subtasksActive }
  }

  get queueDepth(): number {
    return this.jobs.depth
  }

  /** Each ready worker's event-loop utilisation since it started (0..1). */
  utilization(): Array<number> {
    return this.workers.all.filter((worker) => worker.ready).map((worker) => worker.thread.utilization())
  }

  /** Spawns the initial workers; resolves when all are ready, or fails with the first one that could not start. */
  start(): Promise<void> {
    return this.workers.start()
  }

  submit(
    task: ComputeTask.Any,
    kind: Protocol.Kind,
    payload: unknown,
    settle: (settlement: Settlement) => void,
    extras?: SubmitExtras
  ): Job | undefined {
    const job = this.created(task, kind, payload, settle)
    if (job === undefined) return undefined
    const held = this.quarantine?.check(task.name)
    if (held !== undefined) {
      this.end(job, { _tag: "Quarantined", ...held })
      return undefined
    }
    if (this.jobs.queued >= this.options.maxQueue && this.options.onQueueFull === "fail") {
      this.end(job, { _tag: "QueueFull", capacity: this.options.maxQueue })
      return undefined
    }
    if (extras !== undefined) {
      const { priority, trace, transfer } = extras
      job.trace = trace
      job.transfer = transfer === undefined || transfer.length === 0 ? undefined : transfer
      job.priority = priority ?? 0
    }
    // Behind anyone already suspended, to keep callers in order.
    if (this.jobs.queued >= this.options.maxQueue || this.jobs.suspended > 0) {
      this.jobs.suspend(job)
      return job
    }
    if (!this.admit(job)) return undefined
    this.scheduleDispatch()
    return job
  }

  /** A submitted job, counted; `undefined` when the pool is closing (the job has ended with `Closed`). */
  private created(
    task: ComputeTask.Any,
    kind: Protocol.Kind,
    payload: unknown,
    settle: (settlement: Settlement) => void
  ): Job | undefined {
    this.counts.submitted++
    this.observer?.submitted(task.name)
    const job = new Job(this.nextJobId++, task, kind, payload, settle)
    this.outstanding++
    if (!this.closing) return job
    this.end(job, { _tag: "Closed", message: `the pool is closed; task "${task.name}" was not run` })
    return undefined
  }

  /** The ids of the workers a broadcast reaches now: ready, and not being retired. */
  openWorkers(): Array<number> {
    return this.workers.all.filter((worker) => worker.open).map((worker) => worker.id)
  }

  /**
   * Runs a task on one given worker, now, past the queue: one part of a broadcast. `undefined` when it ended at once
   * (the pool closing, a payload that could not be encoded, or the worker already gone).
   */
  submitTo(
    workerId: number,
    task: ComputeTask.Any,
    payload: unknown,
    settle: (settlement: Settlement) => void,
    extras?: SubmitExtras
  ): Job | undefined {
    const job = this.created(task, Protocol.Kind.Single, payload, settle)
    if (job === undefined) return undefined
    job.trace = extras?.trace
    const worker = this.workers.all.find((live) => live.id === workerId)
    if (worker === undefined || !worker.open || !worker.hasFreeClaim) {
      this.end(job, {
        _tag: "Crashed",
        workerId,
        message: `worker ${workerId} left before task "${task.name}" reached it`
      })
      return undefined
    }
    if (!this.encode(job)) return undefined
    const now = this.clock.now()
    job.queuedAt = now
    job.pinned = true
    job.state = State.Running
    if (worker.load === 0) worker.lastHeard = now
    worker.take(job)
    this.workers.busy(worker)
    const batch: Batch = { message: Protocol.runMessage(), jobs: [job], transfer: undefined }
    pushEntry(batch.message, job)
    this.post(worker, batch)
    this.updateGauges()
    return job
  }

  /** Keeps a broadcast to apply to every worker that becomes ready from now on (the latest per task name). */
  keep(task: ComputeTask.Any, payload: unknown): void {
    this.kept.set(task.name, { task, payload })
  }

  private reapply(worker: WorkerSlot, task: ComputeTask.Any, payload: unknown): void {
    this.submitTo(worker.id, task, payload, (settlement) => {
      if (settlement._tag !== "Success") {
        this.warn(
          `the kept broadcast of task "${task.name}" did not succeed on worker ${worker.id}: ${settlement._tag}`
        )
      }
    })
  }

  /**
   * Stops a job whose caller was interrupted; `stopped` runs once the job can no longer run: at once when it was
   * still queued, when its worker reports it ended, or when that worker was terminated after the grace period.
   */
  cancel(job: Job, stopped: () => void): void {
    switch (job.state) {
      case State.Waiting:
      case State.Queued: {
        const wasQueued = job.state === State.Queued
        job.cancelled = true
        job.stopped = stopped
        this.end(job, { _tag: "Interrupted" })
        if (wasQueued) this.admitWaiting()
        return
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
        this.subtasks.cancelChildrenOf(job)
        if (worker.revoke(job)) {
          // It had not started: it never will.
          this.end(job, { _tag: "Interrupted" })
          if (this.jobs.queued > 0) this.scheduleDispatch()
          return
        }
        Atomics.compareExchange(worker.claims, job.claim, Protocol.Claim.Started, Protocol.Claim.CancelRequested)
        worker.post([Protocol.Cancel, job.id] satisfies Protocol.CancelMessage)
        job.graceTimer = this.clock.setTimeout(() => {
          job.graceTimer = undefined
          if (job.state === State.Running) {
            this.workers.kill(
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
    // With no worker left, nothing queued can run: fail it now rather than wait for the timeout.
    if (this.workers.all.length === 0) this.failQueued(closedBeforeRun)
    if (this.outstanding === 0) return Promise.resolve()
    return new Promise((resolve) => {
      const timer = this.clock.setTimeout(() => {
        this.drained = undefined
        resolve()
      }, timeoutMs)
      this.drained = () => {
        this.clock.clearTimeout(timer)
        this.drained = undefined
        resolve()
      }
    })
  }

  /** Fails what is left with `Closed` and terminates every worker. */
  async close(): Promise<void> {
    this.closing = true
    if (this.stealTimer !== undefined) this.clock.clearTimeout(this.stealTimer)
    for (const timer of this.graceTimers) this.clock.clearTimeout(timer)
    const terminated = this.callers.settleFirst(() => {
      this.failQueued(closedBeforeRun)
      const { leaving, terminated } = this.workers.close()
      for (const worker of leaving) {
        for (const job of Array.from(worker.jobs.values())) {
          // Dispatched, it never ran to an end of its own.
          this.end(job, {
            _tag: "Closed",
            message: `task "${job.task.name}" was still running when the pool's drain timeout ran out`
          })
        }
      }
      return terminated
    })
    await terminated
  }

  /**
   * The single exit of every job, wherever it is: counts its outcome once, tells its caller (or, when the caller was
   * interrupted, its interrupter), and gives back what it held (its place in the queue, its claim cell, its timer).
   */
  private end(job: Job, settlement: Settlement, runMs?: number): void {
    if (job.state === State.Done) return
    if (job.state === State.Queued || job.state === State.Waiting) this.jobs.forget(job)
    else if (job.worker?.jobs.get(job.id) === job) {
      job.worker.release(job)
      if (job.worker.retiring !== undefined) this.workers.leaveIfDone(job.worker)
    }
    job.state = State.Done
    job.runMs = runMs
    job.encoded = undefined
    if (job.graceTimer !== undefined) this.clock.clearTimeout(job.graceTimer)
    const outcome: Outcome = job.cancelled ? "interrupted" : outcomeOf(settlement)
    this.counts[outcome]++
    this.observer?.completed(job.task.name, outcome, runMs)
    if (job.cancelled) {
      if (job.stopped !== undefined) this.callers.resume(job.stopped, undefined)
    } else this.callers.resume(job.settle, settlement)
    this.outstanding--
    if (this.outstanding === 0 && this.drained !== undefined) this.drained()
  }

  /** Ends every job still queued or suspended. */
  private failQueued(settlementOf: (job: Job) => Settlement): void {
    this.callers.settleFirst(() => {
      for (const job of this.jobs.takeAll()) this.end(job, settlementOf(job))
      this.updateGauges()
    })
  }

  /** Encodes the job's payload; one that cannot be encoded ends the job (false). */
  private encode(job: Job): boolean {
    const encoded = Codec.encodePayload(job.task.payload, job.kind, job.payload)
    if (!encoded.ok) {
      this.end(job, {
        _tag: "Encoding",
        direction: "payload",
        message: `the payload of task "${job.task.name}" could not be encoded: ${encoded.error}`
      })
      return false
    }
    job.encoded = encoded.value
    return true
  }

  private admit(job: Job): boolean {
    if (!this.encode(job)) return false
    job.queuedAt = this.clock.now()
    this.jobs.enqueue(job)
    return true
  }

  private admitWaiting(): void {
    while (this.jobs.suspended > 0 && this.jobs.queued < this.options.maxQueue) {
      const job = this.jobs.takeWaiting()
      if (job === undefined) return
      // Out of the waiting line and not yet queued: `admit` queues it or ends it.
      job.state = State.Admitting
      this.admit(job)
    }
  }

  // ---- dispatch

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
    else this.clock.setImmediate(this.runDispatch)
  }

  private hasIdleWorker(): boolean {
    for (const worker of this.workers.all) if (worker.open && worker.load === 0) return true
    return false
  }

  /**
   * The ready worker with the fewest tasks in flight and room for one more. A worker that has gone quiet with work
   * in hand (busy in a long task: workers report at least every millisecond otherwise) gets nothing more, so tasks
   * wait here, where any worker that frees up can take them, rather than behind that long task.
   */
  private leastLoaded(now: number): WorkerSlot | undefined {
    let best: WorkerSlot | undefined
    for (const worker of this.workers.all) {
      if (!worker.open || !worker.hasFreeClaim) continue
      const inFlight = worker.load
      if (inFlight >= this.inFlightLimit(worker)) continue
      if (inFlight > 0 && now - worker.lastHeard > quietAfterMs) continue
      if (best === undefined || inFlight < best.load) best = worker
    }
    return best
  }

  /** Tasks a worker may hold: more where its tasks are tiny, so that it runs dry, and must be woken, less often. */
  private inFlightLimit(worker: WorkerSlot): number {
    const mean = worker.meanRunMs
    return mean !== undefined && mean < tinyTaskMs
      ? this.options.maxInFlightForTinyTasks
      : this.options.maxInFlightPerWorker
  }

  private dispatch(): void {
    let batches: Map<WorkerSlot, Batch> | undefined
    const now = this.clock.now()
    if (this.jobs.queued === 0) this.stealForIdle(now)
    while (this.jobs.queued > 0) {
      const worker = this.leastLoaded(now)
      if (worker === undefined) break
      const job = this.jobs.takeQueued(now)
      if (job === undefined) break
      job.state = State.Running
      this.admitWaiting()
      job.waitMs = now - job.queuedAt
      this.observer?.dispatched(job.task.name, job.waitMs, job.priority)
      // An idle worker's quiet spell starts with its first task, not with its last answer.
      if (worker.load === 0) worker.lastHeard = now
      worker.take(job)
      this.workers.busy(worker)
      batches ??= new Map()
      let batch = batches.get(worker)
      if (batch === undefined) {
        batch = { message: Protocol.runMessage(), jobs: [], transfer: undefined }
        batches.set(worker, batch)
      }
      // The encoded payload stays with the job until it ends, in case it is taken back and sent elsewhere.
      pushEntry(batch.message, job)
      batch.jobs.push(job)
      if (job.transfer !== undefined) (batch.transfer ??= []).push(...job.transfer)
    }
    // Tasks still wait with every worker busy: an elastic pool grows.
    if (this.jobs.queued > 0) this.workers.grow(this.jobs.queued)
    if (batches === undefined) return
    this.updateGauges()
    // A lone task (nothing else in flight or queued) wants its result back at once; under load, results coalesce.
    if (batches.size === 1 && this.jobs.queued === 0) {
      const [[worker, batch]] = batches
      const sent = batch.jobs.length
      if (worker.jobs.size === sent && this.activeJobs === sent) batch.message[1] = Protocol.RunFlag.Urgent
    }
    for (const [worker, batch] of batches) this.post(worker, batch)
  }

  /**
   * Work stealing: while a worker sits idle, takes back the tasks that a quiet worker (busy in a long task) holds but
   * has not started, and puts them first in the queue for the idle one. A worker not yet quiet is checked again soon.
   * A task that moved buffers (`transfer`) stays where it is: its buffers now live in that worker, so sending it
   * elsewhere would send empty, detached ones.
   */
  private stealForIdle(now: number): void {
    const workers = this.workers.all
    if (!workers.some((worker) => worker.open && worker.load === 0)) return
    let recheck = false
    for (const worker of workers) {
      if (worker.load <= 1 || worker.killReason !== undefined) continue
      if (now - worker.lastHeard <= quietAfterMs) {
        recheck = true
        continue
      }
      this.counts.stolen += this.takeBack(worker)
    }
    if (recheck && this.stealTimer === undefined) {
      this.stealTimer = this.clock.setTimeout(() => {
        this.stealTimer = undefined
        this.dispatch()
      }, quietAfterMs + 1)
    }
  }

  /**
   * Takes back the tasks a worker holds but has not started and queues them first, in their order; returns how many.
   * A task that moved buffers (`transfer`) stays: its buffers live in that worker now; so does a part of a broadcast,
   * which is for that worker.
   */
  private takeBack(worker: WorkerSlot): number {
    const taken = [...worker.jobs.values()].filter((job) =>
      job.transfer === undefined && !job.pinned && worker.revoke(job)
    )
    for (let i = taken.length - 1; i >= 0; i--) {
      const job = taken[i]!
      job.worker = undefined
      this.jobs.enqueueFirst(job)
    }
    if (taken.length > 0) this.scheduleDispatch()
    return taken.length
  }

  private post(worker: WorkerSlot, batch: Batch): void {
    try {
      worker.sendRun(batch.message, batch.transfer)
      return
    } catch {
      // Something in the batch cannot be cloned (or moved): send one by one so only the culprits fail. A failed
      // postMessage moves nothing, so the buffers of the others are still here to send.
    }
    for (let index = 0; index < batch.jobs.length; index++) {
      const job = batch.jobs[index]!
      try {
        worker.sendRun(Protocol.runMessageOf(batch.message, index), job.transfer)
      } catch (cause) {
        worker.revoke(job)
        this.end(job, {
          _tag: "Encoding",
          direction: "payload",
          message: `the payload of task "${job.task.name}" could not be sent to a worker: ${
            Protocol.errorInfo(cause).message
          }`,
          cause
        })
      }
    }
  }

  // ---- results

  private received(worker: WorkerSlot, message: Protocol.FromWorker): void {
    // A step: a Results message ends many jobs, and its callers resume once all are counted.
    const outermost = this.callers.beginStep()
    try {
      this.handle(worker, message)
    } finally {
      if (outermost) this.callers.endStep()
    }
  }

  private handle(worker: WorkerSlot, message: Protocol.FromWorker): void {
    switch (message[0]) {
      case Protocol.Results:
        return this.onResults(worker, message)
      case Protocol.Spawn:
        return this.subtasks.spawn(worker, message)
      case Protocol.CancelChild:
        return this.subtasks.cancelRequested(worker, message[1])
      case Protocol.SubtaskTally:
        return this.onSubtaskTally(message)
    }
  }

  private onResults(worker: WorkerSlot, message: Protocol.ResultsMessage): void {
    let ended = 0
    Protocol.forEachResult(message, (id, outcome, value, runMs) => {
      const job = worker.jobs.get(id)
      if (job === undefined) return
      ended++
      if (runMs !== undefined) worker.ran(runMs)
      this.end(job, fromWorker(job.task, job.kind, worker.id, outcome, value), runMs)
    })
    this.workers.finished(worker, ended)
    this.updateGauges()
    // More work for this worker, or, once it is idle, work to take from a busy one.
    if (this.jobs.queued > 0 || worker.load === 0) this.scheduleDispatch()
  }

  /** Subtasks that ran among the workers, for the per-task metrics (the stats count them from the regions). */
  private onSubtaskTally(message: Protocol.SubtaskTallyMessage): void {
    const observer = this.observer
    if (observer === undefined) return
    Protocol.forEachTally(message, (name, counts, runMs) => observer.subtasksEnded(name, counts, runMs))
  }

  private updateGauges(): void {
    let idle = 0
    for (const worker of this.workers.all) if (worker.open && worker.load === 0) idle++
    this.observer?.gauges(this.activeJobs, this.jobs.depth, this.workers.all.length, idle)
  }

  /** A worker died: the jobs it held end with `Crashed`, its subtasks' callers are gone. Replace it unless closing. */
  private exited(worker: WorkerSlot, exitCode: number, why: string): boolean {
    this.updateGauges()
    // A crash of its own (not a kill of ours): the tasks it had started are the suspects.
    if (worker.killReason === undefined && this.quarantine !== undefined) this.suspect(worker, this.quarantine)
    const crashed: Settlement = {
      _tag: "Crashed",
      workerId: worker.id,
      exitCode,
      message: why,
      cause: worker.lastError
    }
    for (const job of Array.from(worker.jobs.values())) this.end(job, crashed)
    this.subtasks.orphan(worker)
    this.stopStolenFrom(worker)
    if (this.closing && this.outstanding === 0) return false
    this.observer?.restarted()
    return true
  }

  /**
   * What peers stole from a dead worker's queue has no one to answer to: the thieves are asked to stop, through the
   * slots (which a busy loop reads), and one still running such a subtask after the grace period is terminated, as
   * any task that ignores its interruption.
   */
  private stopStolenFrom(worker: WorkerSlot): void {
    const slots = new StealSlots(worker.region.buffer)
    const thieves = slots.cancelAllStolen()
    if (thieves.length === 0) return
    const timer = this.clock.setTimeout(() => {
      this.graceTimers.delete(timer)
      for (const thief of this.workers.all) {
        if (!thieves.includes(thief.id) || !slots.isStillRunning(thief.id)) continue
        this.workers.kill(
          thief,
          `a subtask it took from worker ${worker.id}, which died, ignored its interruption for ` +
            `${this.options.interruptGraceMs} ms, so its worker was terminated`
        )
      }
    }, this.options.interruptGraceMs)
    this.graceTimers.add(timer)
  }

  /** Counts a crash against each task the dead worker had started; quarantines those that crash too often. */
  private suspect(worker: WorkerSlot, quarantine: Quarantine): void {
    const names = new Set<string>()
    for (const job of worker.jobs.values()) if (worker.hasStarted(job)) names.add(job.task.name)
    const { crashes, forMs, withinMs } = this.options.quarantine!
    for (const name of names) {
      if (!quarantine.crashed(name)) continue
      this.observer?.quarantined(name, crashes, forMs)
      this.warn(
        `task "${name}" crashed its worker ${crashes} times within ${withinMs} ms: quarantined for ${forMs} ms ` +
          `(calls to it fail with TaskQuarantined meanwhile)`
      )
    }
  }
}

const pushEntry = (message: Protocol.RunMessage, job: Job): void =>
  Protocol.pushRunEntry(message, job.id, job.task.name, job.kind, job.claim, job.encoded, job.trace)

const closedBeforeRun = (job: Job): Settlement => ({
  _tag: "Closed",
  message: `the pool closed before task "${job.task.name}" could run`
})
