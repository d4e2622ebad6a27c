/**
 * Where the world comes into the dispatcher: the worker thread behind a small interface and the clock behind another,
 * so the scheduling logic (grace periods, backoff, stealing, drain timeouts) runs in tests on a fake thread and
 * Effect's `TestClock`, without threads or sleeping. The Node implementations are the only ones in production.
 */
import { performance } from "node:perf_hooks"
import type { Transferable, Worker as NodeWorker } from "node:worker_threads"
import type * as Protocol from "../wire/protocol.ts"

/** One worker thread, as the dispatcher uses it. */
export interface WorkerThread {
  readonly postMessage: (message: Protocol.ToWorker, transfer?: ReadonlyArray<Transferable>) => void
  /**
   * Whether its tasks may go through a shared inbox (`inbox.ts`) instead of messages: a real worker, which reads it.
   * The dispatcher's tests drive fake threads that read messages only.
   */
  readonly readsInbox?: boolean
  readonly terminate: () => Promise<unknown>
  readonly onMessage: (listener: (message: Protocol.FromWorker) => void) => void
  /** an uncaught error in the worker; its exit follows */
  readonly onError: (listener: (error: unknown) => void) => void
  readonly onExit: (listener: (exitCode: number) => void) => void
  /** the thread's event-loop utilisation since it started (0..1) */
  readonly utilization: () => number
  /** the thread's JS heap in use, in MB, where the runtime can tell (Node >= 22.16) */
  readonly heapUsedMb: (() => Promise<number>) | undefined
}

export const fromNodeWorker = (worker: NodeWorker): WorkerThread => ({
  postMessage: (message, transfer) => worker.postMessage(message, transfer as Array<Transferable> | undefined),
  readsInbox: true,
  terminate: () => worker.terminate(),
  onMessage: (listener) => worker.on("message", listener),
  onError: (listener) => worker.on("error", listener),
  onExit: (listener) => worker.on("exit", listener),
  utilization: () => worker.performance.eventLoopUtilization().utilization,
  heapUsedMb: typeof worker.getHeapStatistics === "function"
    ? () => worker.getHeapStatistics().then((heap) => heap.used_heap_size / 1024 ** 2)
    : undefined
})

/** A timer handle, as the clock that made it knows it. */
export type Timer = unknown

/** Time as the dispatcher sees it: milliseconds, timers, and "after the pending I/O" turns. */
export interface Clock {
  readonly now: () => number
  readonly setTimeout: (run: () => void, ms: number) => Timer
  readonly clearTimeout: (timer: Timer) => void
  /** runs after the event loop's pending callbacks (results from other workers) were handled */
  readonly setImmediate: (run: () => void) => void
}

export const nodeClock: Clock = {
  now: () => performance.now(),
  setTimeout: (run, ms) => setTimeout(run, ms),
  clearTimeout: (timer) => clearTimeout(timer as ReturnType<typeof setTimeout>),
  setImmediate: (run) => {
    setImmediate(run)
  }
}
