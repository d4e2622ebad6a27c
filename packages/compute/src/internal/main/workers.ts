/**
 * The pool's live workers: spawning them, knowing when each is ready, replacing one that died (at once, then with a
 * growing delay while replacements keep dying without finishing anything), giving up on queued work when no worker
 * can start at all, and retiring workers on purpose — recycling one past its task count, age or heap limit (its
 * replacement is spawned first, so capacity never drops), or shrinking an elastic pool whose extra workers sit idle.
 * A retiring worker takes no new task, finishes what it holds, finalises its per-worker Layer and exits. What happens
 * to the jobs a worker held is the dispatcher's business: it is told.
 *
 * Over 400 lines, as one concept: a worker's life from spawn to exit, whose steps (ready, retiring, replaced, failed
 * to start) act on the same list of workers and the same timers.
 */
import { MessageChannel } from "node:worker_threads"
import { noOutcomes, type OutcomeCounts } from "../wire/outcome.ts"
import * as Protocol from "../wire/protocol.ts"
import type { Clock, Timer, WorkerThread } from "./thread.ts"
import { WorkerSlot } from "./workerSlot.ts"

/** Claim cells beyond `maxInFlightPerWorker`, for tasks suspended while their subtasks run (nested parallelism). */
const suspendedCapacity = 4_096

/** Replacement workers that may fail to start in a row, with none alive, before queued tasks are failed. */
const maxStartFailures = 3

/** Respawn delay after the `n`th crash in a row without a finished task (n >= 1): 0, 25, 50, 100... 2,000 ms. */
export const respawnDelayMs = (crashesInARow: number): number =>
  crashesInARow === 0 ? 0 : Math.min(25 * 2 ** (crashesInARow - 1), 2_000)

/** Why the pool could not start: the first worker that failed, and what it said. */
export interface StartFailure {
  readonly workerId: number
  readonly message: string
  readonly cause?: unknown
}

/** When a worker is replaced on purpose; each limit is off when undefined. */
export interface RecyclePolicy {
  readonly maxTasks: number | undefined
  readonly maxAgeMs: number | undefined
  readonly maxHeapMb: number | undefined
}

/** A retiring worker that has not exited this long after it was told to is terminated. */
const retireTimeoutMs = 10_000

/** How often, at most, a worker's heap is checked against `maxHeapMb` (it is checked between tasks). */
const heapCheckEveryMs = 100

/** How many workers, and when one is replaced or retired: options of the pool that the workers apply. */
export interface WorkersPolicy {
  /** the pool's size at start, and the least it shrinks to */
  readonly threads: number
  /** the most it grows to while tasks wait (`threads` for a fixed size) */
  readonly maxThreads: number
  /** how long an extra worker may sit idle before the pool shrinks */
  readonly idleTimeoutMs: number
  readonly recycle: RecyclePolicy
  /** a worker that has not become ready this long after it was spawned is terminated (a start failure) */
  readonly startTimeoutMs: number
  readonly maxInFlightPerWorker: number
  /**
   * tasks sent to a worker whose tasks run under `tinyTaskMs` on average: more of them in one batch means fewer
   * wake-ups of a worker that ran dry (equal to `maxInFlightPerWorker` where the user set that)
   */
  readonly maxInFlightForTinyTasks: number
  /** how long a worker out of work keeps looking for more before it sleeps (only while a core is free for it) */
  readonly idleSpinMicros: number
  /** the machine's cores, which the idle spin counts on */
  readonly cores: number
}

/** What the workers tell the dispatcher, and need of it. */
export interface WorkersHost extends WorkersPolicy {
  readonly spawnThread: (id: number) => WorkerThread
  readonly clock: Clock
  /** a message from a ready worker: results, subtasks */
  readonly received: (worker: WorkerSlot, message: Protocol.FromWorker) => void
  readonly ready: (worker: WorkerSlot) => void
  /** a worker died: `why` explains it to the tasks it held; return whether it should be replaced */
  readonly exited: (worker: WorkerSlot, exitCode: number, why: string) => boolean
  /** several replacements in a row died before they were ready, and no worker is left */
  readonly noneCanStart: (workerId: number, message: string) => void
  /** runs a step (a worker's exit) with the callers it resumes held until the step is over */
  readonly settleFirst: (step: () => void) => void
  /** a worker became ready with this utilisation gauge; the function returned forgets it */
  readonly watch: ((workerId: number, utilization: () => number) => () => void) | undefined
  /** a worker is being retired: take back the tasks it has not started */
  readonly retiring: (worker: WorkerSlot) => void
  /** a retired worker has left (after finalising its Layer) */
  readonly retired: (worker: WorkerSlot) => void
}

export class Workers {
  /** live workers, ready or starting */
  readonly all: Array<WorkerSlot> = []
  /** Workers replaced after a crash or a kill. */
  restarts = 0
  /** Workers retired on purpose after a limit and replaced (not crashes). */
  recycles = 0
  /** How the subtasks of the workers that have left ended (folded in from each one's region as it left). */
  private readonly goneSubtasks: OutcomeCounts = noOutcomes()
  private nextWorkerId = 0
  private closed = false
  /** workers that died in a row without a task finishing in between: the respawn backoff */
  private recentCrashes = 0
  /** replacement workers that died before they were ready, in a row */
  private startFailures = 0
  private readonly respawnTimers = new Set<Timer>()
  private startWaiter:
    | { pending: number; resolve: () => void; reject: (failure: StartFailure) => void }
    | undefined
  private readonly host: WorkersHost
  constructor(host: WorkersHost) {
    this.host = host
  }

  /** Spawns the initial workers; resolves when all are ready, or fails with the first one that could not start. */
  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.startWaiter = { pending: this.host.threads, resolve, reject }
      for (let i = 0; i < this.host.threads; i++) this.spawn()
    })
  }

  /** Live workers not being retired. */
  get staying(): number {
    let count = 0
    for (const worker of this.all) if (worker.retiring === undefined) count++
    return count
  }

  /**
   * Adds how the subtasks that ran in workers ended (counted in their regions, not by the dispatcher) to `into`, and
   * returns how many have not ended yet.
   */
  addSubtaskCounts(into: OutcomeCounts): number {
    for (const key of countKeys) into[key] += this.goneSubtasks[key]
    let active = 0
    for (const worker of this.all) active += worker.region.addTo(into)
    return active
  }

  /** Whether a worker may still be sent messages. */
  isServing(worker: WorkerSlot): boolean {
    return !this.closed && worker.killReason === undefined && this.all.includes(worker)
  }

  kill(worker: WorkerSlot, reason: string): void {
    if (worker.killReason !== undefined) return
    worker.killReason = reason
    void worker.thread.terminate()
  }

  /** No more replacements; every worker leaves the set and is terminated. */
  close(): { readonly leaving: Array<WorkerSlot>; readonly terminated: Promise<unknown> } {
    this.closed = true
    for (const timer of this.respawnTimers) this.host.clock.clearTimeout(timer)
    this.respawnTimers.clear()
    const leaving = this.all.splice(0)
    for (const worker of leaving) {
      worker.killReason = "the pool closed"
      this.clearTimers(worker)
    }
    return { leaving, terminated: Promise.allSettled(leaving.map((worker) => worker.thread.terminate())) }
  }

  /**
   * Tasks wait and every worker is busy: an elastic pool adds one, up to `maxThreads` (counting the replacements that
   * wait out their backoff), while fewer are starting than tasks wait. A fixed-size pool never grows: a crash's
   * replacement is the only way it gets a worker back, backoff included.
   */
  grow(waiting: number): void {
    if (this.closed || this.host.maxThreads <= this.host.threads) return
    if (this.all.length + this.respawnTimers.size >= this.host.maxThreads) return
    let starting = 0
    for (const worker of this.all) if (!worker.ready) starting++
    if (starting < waiting) this.spawn()
  }

  /** The dispatcher gave `worker` a task: it is not idle. */
  busy(worker: WorkerSlot): void {
    if (worker.idleTimer === undefined) return
    this.host.clock.clearTimeout(worker.idleTimer)
    worker.idleTimer = undefined
  }

  /** `worker` reported `count` tasks finished: apply the recycling limits, and the idle timeout once it is idle. */
  finished(worker: WorkerSlot, count: number): void {
    // Whatever killed workers before, this one works: the respawn backoff starts over.
    this.recentCrashes = 0
    worker.tasksRun += count
    const { maxHeapMb, maxTasks } = this.host.recycle
    if (maxTasks !== undefined && worker.tasksRun >= maxTasks) this.retire(worker, "recycle")
    else if (maxHeapMb !== undefined) this.checkHeap(worker, maxHeapMb)
    if (worker.retiring !== undefined) this.leaveIfDone(worker)
    else if (worker.load === 0) this.idle(worker)
  }

  /** A worker with nothing to do, in a pool above its least size, is retired after the idle timeout. */
  idle(worker: WorkerSlot): void {
    if (worker.idleTimer !== undefined || !worker.open || this.staying <= this.host.threads) return
    worker.idleTimer = this.host.clock.setTimeout(() => {
      worker.idleTimer = undefined
      if (worker.load === 0 && worker.jobs.size === 0 && this.staying > this.host.threads) {
        this.retire(worker, "shrink")
      }
    }, this.host.idleTimeoutMs)
  }

  /**
   * Retires a worker: it takes no new task; a replacement is spawned first when it is recycled; it leaves once it
   * holds no task (see {@link leaveIfDone}).
   */
  retire(worker: WorkerSlot, reason: "recycle" | "shrink"): void {
    if (worker.retiring !== undefined || worker.killReason !== undefined || this.closed) return
    worker.retiring = reason
    this.clearTimers(worker)
    if (reason === "recycle") this.spawn()
    this.host.retiring(worker)
    this.leaveIfDone(worker)
  }

  /** A retiring worker that holds no task any more is told to finalise its Layer and exit. */
  leaveIfDone(worker: WorkerSlot): void {
    if (worker.retiring === undefined || worker.leaving || worker.jobs.size > 0) return
    worker.leaving = true
    worker.post([Protocol.Retire] satisfies Protocol.RetireMessage)
    worker.deadlineTimer = this.host.clock.setTimeout(() => {
      worker.deadlineTimer = undefined
      this.kill(worker, `worker ${worker.id} did not finish retiring within ${retireTimeoutMs} ms`)
    }, retireTimeoutMs)
  }

  private checkHeap(worker: WorkerSlot, maxHeapMb: number): void {
    const now = this.host.clock.now()
    if (worker.thread.heapUsedMb === undefined || now - worker.heapCheckedAt < heapCheckEveryMs) return
    worker.heapCheckedAt = now
    worker.thread.heapUsedMb().then(
      (usedMb) => {
        if (usedMb > maxHeapMb) this.retire(worker, "recycle")
      },
      () => {
        // The worker is gone: its exit says so.
      }
    )
  }

  private clearTimers(worker: WorkerSlot): void {
    if (worker.idleTimer !== undefined) this.host.clock.clearTimeout(worker.idleTimer)
    if (worker.deadlineTimer !== undefined) this.host.clock.clearTimeout(worker.deadlineTimer)
    worker.idleTimer = undefined
    worker.deadlineTimer = undefined
  }

  private spawn(): void {
    const host = this.host
    const clock = host.clock
    const id = this.nextWorkerId++
    let thread: WorkerThread
    try {
      thread = host.spawnThread(id)
    } catch (cause) {
      this.startFailed({ workerId: id, message: `worker ${id} could not be spawned: ${errorMessage(cause)}`, cause })
      return
    }
    const inFlight = Math.max(host.maxInFlightPerWorker, host.maxInFlightForTinyTasks)
    const worker = new WorkerSlot(id, thread, inFlight + suspendedCapacity)
    this.all.push(worker)
    // An entry or a per-worker Layer that never finishes would leave the pool waiting for this worker for ever.
    worker.deadlineTimer = clock.setTimeout(() => {
      worker.deadlineTimer = undefined
      if (!worker.ready) {
        this.kill(
          worker,
          `worker ${id} did not become ready within ${host.startTimeoutMs} ms (its entry or per-worker Layer never ` +
            `finished)`
        )
      }
    }, host.startTimeoutMs)
    thread.onMessage((message) => {
      worker.lastHeard = clock.now()
      switch (message[0]) {
        case Protocol.Ready:
          return this.onReady(worker)
        case Protocol.StartFailed: {
          const info = message[1]
          worker.killReason = `worker ${id} failed to start, its per-worker Layer failed: ${info.message}`
          void thread.terminate()
          return this.startFailed({
            workerId: id,
            message: `worker ${id} failed to start: ${info.stack ?? info.message}`,
            cause: info
          })
        }
        default:
          return host.received(worker, message)
      }
    })
    thread.onError((error) => {
      worker.lastError = error
    })
    // The whole exit — its jobs ended, the restart counted, the replacement arranged — before any caller resumes.
    thread.onExit((code) => this.host.settleFirst(() => this.onExit(worker, code)))
    worker.post(
      [
        Protocol.Init,
        id,
        worker.claims.buffer as SharedArrayBuffer,
        host.threads,
        worker.region.buffer,
        worker.inbox,
        host.idleSpinMicros,
        host.cores
      ] satisfies Protocol.InitMessage
    )
  }

  private onReady(worker: WorkerSlot): void {
    worker.ready = true
    this.clearTimers(worker)
    this.startFailures = 0
    worker.forget = this.host.watch?.(worker.id, () => worker.thread.utilization())
    const { maxAgeMs } = this.host.recycle
    if (maxAgeMs !== undefined) {
      worker.deadlineTimer = this.host.clock.setTimeout(() => {
        worker.deadlineTimer = undefined
        this.retire(worker, "recycle")
      }, maxAgeMs)
    }
    if (this.startWaiter !== undefined && --this.startWaiter.pending === 0) {
      const { resolve } = this.startWaiter
      this.startWaiter = undefined
      resolve()
    }
    this.connect(worker)
    this.host.ready(worker)
    if (worker.load === 0) this.idle(worker)
  }

  /**
   * Introduces a ready worker to every other ready one: each gets the other's region and one end of a channel
   * between the two, so subtasks are stolen and answered worker to worker.
   */
  private connect(worker: WorkerSlot): void {
    for (const peer of this.all) {
      if (peer === worker || !peer.ready || peer.killReason !== undefined || peer.leaving) continue
      const { port1, port2 } = new MessageChannel()
      worker.post([Protocol.Peer, peer.id, peer.region.buffer, port1], [port1])
      peer.post([Protocol.Peer, worker.id, worker.region.buffer, port2], [port2])
    }
  }

  /** Tells the others a worker is gone: subtasks they lent it end as crashed. */
  private disconnect(worker: WorkerSlot, exitCode: number, why: string): void {
    if (!worker.ready) return
    for (const peer of this.all) {
      if (peer.ready && peer.killReason === undefined) {
        peer.post([Protocol.PeerLost, worker.id, exitCode, why] satisfies Protocol.PeerLostMessage)
      }
    }
  }

  private startFailed(failure: StartFailure): void {
    if (this.startWaiter !== undefined) {
      const { reject } = this.startWaiter
      this.startWaiter = undefined
      reject(failure)
    }
  }

  private onExit(worker: WorkerSlot, exitCode: number): void {
    const index = this.all.indexOf(worker)
    if (index >= 0) this.all.splice(index, 1)
    worker.forget?.()
    this.clearTimers(worker)
    // Its subtasks that had not ended died with it. (Read first: `addTo` adds to `crashed` too.)
    const unended = worker.region.addTo(this.goneSubtasks)
    this.goneSubtasks.crashed += unended
    if (this.closed) return
    this.disconnect(worker, exitCode, worker.killReason ?? `worker ${worker.id} exited with code ${exitCode}`)
    if (worker.retiring !== undefined) {
      // Retired on purpose: its replacement, if it needs one, was spawned when it began to retire.
      if (worker.leaving && worker.jobs.size === 0) {
        if (worker.retiring === "recycle") this.recycles++
        return this.host.retired(worker)
      }
      this.host.exited(worker, exitCode, `worker ${worker.id} died while it was being retired (exit code ${exitCode})`)
      return
    }
    const lastError = worker.lastError === undefined ? "" : `: ${errorMessage(worker.lastError)}`
    if (!worker.ready && this.startWaiter !== undefined) {
      return this.startFailed({
        workerId: worker.id,
        message: worker.killReason ??
          `worker ${worker.id} exited with code ${exitCode} before it was ready${lastError}`,
        cause: worker.lastError
      })
    }
    const why = worker.killReason ??
      (worker.lastError !== undefined
        ? `worker ${worker.id} crashed${lastError}`
        : `worker ${worker.id} exited with code ${exitCode}`)
    if (!worker.ready) this.replacementFailed(worker.id, why)
    if (!this.host.exited(worker, exitCode, why)) return
    this.restarts++
    this.respawnWithBackoff()
  }

  /**
   * A replacement worker died before it was ready (its entry or Layer fails now). Respawning goes on with backoff,
   * but once several in a row have failed and no worker is left, queued callers are told now rather than left
   * waiting for a worker that may never come.
   */
  private replacementFailed(workerId: number, why: string): void {
    this.startFailures++
    if (this.startFailures < maxStartFailures || this.all.some((worker) => worker.ready)) return
    this.host.noneCanStart(
      workerId,
      `no worker could start (${this.startFailures} attempts in a row); the last: ${why}`
    )
  }

  /** Replaces a dead worker at once, then with growing delays while workers die without finishing anything. */
  private respawnWithBackoff(): void {
    const delay = respawnDelayMs(this.recentCrashes)
    this.recentCrashes++
    if (delay === 0) return this.spawn()
    const timer = this.host.clock.setTimeout(() => {
      this.respawnTimers.delete(timer)
      if (!this.closed) this.spawn()
    }, delay)
    this.respawnTimers.add(timer)
  }
}

const countKeys = Object.keys(noOutcomes()) as ReadonlyArray<keyof OutcomeCounts>

const errorMessage = (cause: unknown): string => Protocol.errorInfo(cause).message
