/**
 * A worker thread with no thread behind it, and a clock on Effect's `TestClock`: the dispatcher's seam, for
 * scheduler tests that assert orderings and counts without threads or sleeping.
 */
import { Clock, Context, Effect, Fiber } from "effect"
import type * as Thread from "../../src/internal/main/thread.ts"
import * as Protocol from "../../src/internal/wire/protocol.ts"

/** Plays a worker: the test reads what the dispatcher sent and answers for the worker. */
export class FakeThread implements Thread.WorkerThread {
  readonly posted: Array<Protocol.ToWorker> = []
  terminated = false
  exited = false
  claims: Int32Array | undefined = undefined
  private messageListener: ((message: Protocol.FromWorker) => void) | undefined
  private exitListener: ((code: number) => void) | undefined
  readonly id: number
  constructor(id: number) {
    this.id = id
  }

  readonly postMessage = (message: Protocol.ToWorker): void => {
    if (message[0] === Protocol.Init) this.claims = new Int32Array(message[2])
    this.posted.push(message)
  }
  readonly terminate = (): Promise<unknown> => {
    this.terminated = true
    // As a real thread: the exit event follows the request.
    queueMicrotask(() => this.exit(1))
    return Promise.resolve(1)
  }
  readonly onMessage = (listener: (message: Protocol.FromWorker) => void) => {
    this.messageListener = listener
  }
  readonly onError = () => {}
  readonly onExit = (listener: (code: number) => void) => {
    this.exitListener = listener
  }
  readonly utilization = () => 0
  readonly heapUsedMb = undefined

  ready(): void {
    this.messageListener!([Protocol.Ready])
  }

  /** The ids of the tasks sent in Run messages, in order. */
  get received(): Array<number> {
    const ids: Array<number> = []
    for (const message of this.posted) {
      if (message[0] === Protocol.Run) Protocol.forEachRunEntry(message, (id) => ids.push(id))
    }
    return ids
  }

  /** The claim cell of a task this worker received. */
  private claimOf(id: number): number {
    for (const message of this.posted) {
      if (message[0] !== Protocol.Run) continue
      let claim = -1
      Protocol.forEachRunEntry(message, (entryId, _name, _kind, entryClaim) => {
        if (entryId === id) claim = entryClaim
      })
      if (claim >= 0) return claim
    }
    throw new Error(`task ${id} was never sent to worker ${this.id}`)
  }

  /** Starts a task as the worker runtime does: wins its claim cell, unless the pool took it back first. */
  start(id: number): boolean {
    return Atomics.compareExchange(this.claims!, this.claimOf(id), id, Protocol.Claim.Started) === id
  }

  claimState(id: number): number {
    return Atomics.load(this.claims!, this.claimOf(id))
  }

  /** Reports how a task ended, as the worker runtime does (`value` already encoded), after `runMs` in its handler. */
  report(id: number, outcome: Protocol.Outcome, value: unknown, runMs = 0): void {
    const results = Protocol.resultsMessage()
    Protocol.pushResult(results, id, outcome, value, runMs)
    this.messageListener!(results)
  }

  succeed(id: number, value: unknown, runMs = 0): void {
    this.report(id, Protocol.Outcome.Success, value, runMs)
  }

  exit(code: number): void {
    if (this.exited) return
    this.exited = true
    this.exitListener!(code)
  }
}

/** A dispatcher clock whose time and timers are those of the Effect context given (a `TestClock` in tests). */
export const testClock = (services: Context.Context<never>): Thread.Clock => {
  const clock = Context.get(services, Clock.Clock)
  const run = Effect.runForkWith(services)
  return {
    now: () => clock.currentTimeMillisUnsafe(),
    setTimeout: (callback, ms) => run(Effect.andThen(Effect.sleep(ms), Effect.sync(callback))),
    clearTimeout: (timer) => {
      Effect.runFork(Fiber.interrupt(timer as Fiber.Fiber<void>))
    },
    setImmediate: (callback) => {
      setImmediate(callback)
    }
  }
}
