/**
 * The pool's live workers: spawning them, knowing when each is ready, replacing one that died (at once, then with a
 * growing delay while replacements keep dying without finishing anything), and giving up on queued work when no
 * worker can start at all. What happens to the jobs a worker held is the dispatcher's business: it is told.
 */
import * as Protocol from "./protocol.ts"
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

/** What the workers tell the dispatcher. */
export interface WorkersHost {
  readonly threads: number
  readonly maxInFlightPerWorker: number
  readonly spawnThread: (id: number) => WorkerThread
  readonly clock: Clock
  /** a message from a ready worker: results, subtasks */
  readonly received: (worker: WorkerSlot, message: Protocol.FromWorker) => void
  readonly ready: (worker: WorkerSlot) => void
  /** a worker died: `why` explains it to the tasks it held; return whether it should be replaced */
  readonly exited: (worker: WorkerSlot, exitCode: number, why: string) => boolean
  /** several replacements in a row died before they were ready, and no worker is left */
  readonly noneCanStart: (workerId: number, message: string) => void
  /** a worker became ready with this utilisation gauge; the function returned forgets it */
  readonly watch: ((workerId: number, utilization: () => number) => () => void) | undefined
}

export class Workers {
  /** live workers, ready or starting */
  readonly all: Array<WorkerSlot> = []
  /** Workers replaced after a crash or a kill. */
  restarts = 0
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

  /** A task finished: whatever killed workers before, this one works, so the respawn backoff starts over. */
  taskFinished(): void {
    this.recentCrashes = 0
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
    for (const worker of leaving) worker.killReason = "the pool closed"
    return { leaving, terminated: Promise.allSettled(leaving.map((worker) => worker.thread.terminate())) }
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
    const worker = new WorkerSlot(id, thread, host.maxInFlightPerWorker + suspendedCapacity)
    this.all.push(worker)
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
    thread.onExit((code) => this.onExit(worker, code))
    thread.postMessage(
      [Protocol.Init, id, worker.claims.buffer as SharedArrayBuffer, host.threads] satisfies Protocol.InitMessage
    )
  }

  private onReady(worker: WorkerSlot): void {
    worker.ready = true
    this.startFailures = 0
    worker.forget = this.host.watch?.(worker.id, () => worker.thread.utilization())
    if (this.startWaiter !== undefined && --this.startWaiter.pending === 0) {
      const { resolve } = this.startWaiter
      this.startWaiter = undefined
      resolve()
    }
    this.host.ready(worker)
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
    if (this.closed) return
    const lastError = worker.lastError === undefined ? "" : `: ${errorMessage(worker.lastError)}`
    if (!worker.ready && this.startWaiter !== undefined) {
      return this.startFailed({
        workerId: worker.id,
        message: `worker ${worker.id} exited with code ${exitCode} before it was ready${lastError}`,
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

const errorMessage = (cause: unknown): string => Protocol.errorInfo(cause).message
