/**
 * A worker's outbox: the outcomes of finished tasks wait here and go to the main thread together, as one Results
 * message, so the per-task cost of `postMessage` falls as load rises. When a message cannot be sent (one result
 * would not structured-clone), its results go one by one, so only that one fails. One concept: when results leave
 * the worker and how, whatever task produced them.
 */
import { performance } from "node:perf_hooks"
import type { MessagePort } from "node:worker_threads"
import type { Outcome } from "../wire/outcome.ts"
import * as Protocol from "../wire/protocol.ts"

/** Results are flushed at least this often (ms) while a long batch runs, so callers are not held back by it. */
const flushIntervalMs = 1

/** Subtask endings wait at most this long (ms) while their worker stays busy. */
const tallyIntervalMs = 50

export class Outbox {
  private readonly port: MessagePort
  private message = Protocol.resultsMessage()
  private readonly tallies = new Protocol.SubtaskTallies()
  private flushScheduled = false
  private tallyTimer: ReturnType<typeof setTimeout> | undefined = undefined
  private lastFlush = performance.now()
  /** Set while a Run message is being handled: outcomes reported then go out with that message's flush. */
  private inRun = false

  constructor(port: MessagePort) {
    this.port = port
  }

  /** Queues a task's outcome; outside a Run message it goes out once the worker has read what waits on its port. */
  add(id: number, outcome: Protocol.Report, value: unknown, runMs: number): void {
    Protocol.pushResult(this.message, id, outcome, value, runMs)
    if (!this.inRun) this.flushSoon()
  }

  /**
   * Queues a subtask's ending for the main thread's per-task metrics. It goes out with the next results, or when the
   * worker runs out of work ({@link flushTallies}), or `tallyIntervalMs` after it at most — not once per turn of the
   * event loop: in a tree of subtasks that was a message a turn, each waking the main thread.
   */
  tally(taskName: string, outcome: Outcome, runMs: number | undefined): void {
    this.tallies.add(taskName, outcome, runMs)
    this.flushTalliesLater()
  }

  /** Sends the subtask endings queued so far (the worker is about to sleep, or they have waited long enough). */
  readonly flushTallies = (): void => {
    const tallies = this.takeTallies()
    if (tallies !== undefined) this.port.postMessage(tallies)
  }

  /** The subtask endings queued so far, taken to go another way (with a thief's answer), or undefined if none. */
  takeTallies(): Protocol.SubtaskTallyMessage | undefined {
    if (this.tallyTimer !== undefined) {
      clearTimeout(this.tallyTimer)
      this.tallyTimer = undefined
    }
    return this.tallies.isEmpty ? undefined : this.tallies.take()
  }

  /** A thief's subtask endings, handed over with its answer: they go out with this worker's own. */
  mergeTallies(tallies: Protocol.SubtaskTallyMessage): void {
    this.tallies.merge(tallies)
    this.flushTalliesLater()
  }

  private flushTalliesLater(): void {
    if (this.tallyTimer === undefined) this.tallyTimer = setTimeout(this.flushTallies, tallyIntervalMs)
  }

  /** A Run message's tasks start: hold their outcomes back until `endRun`. */
  beginRun(): void {
    this.inRun = true
  }

  /** Between a Run message's tasks: sends what has waited `flushIntervalMs` or more. */
  flushIfDue(): void {
    if (Protocol.hasResults(this.message) && performance.now() - this.lastFlush >= flushIntervalMs) this.flush()
  }

  /** The Run message's tasks have all started: `urgent` (nothing else in flight) sends now, else on the next turn. */
  endRun(urgent: boolean): void {
    this.inRun = false
    if (urgent) this.flush()
    else this.flushSoon()
  }

  private flush(): void {
    // Before the results: a task's subtasks are counted by the time its caller resumes.
    this.flushTallies()
    if (!Protocol.hasResults(this.message)) return
    const message = this.message
    this.message = Protocol.resultsMessage()
    this.lastFlush = performance.now()
    try {
      this.port.postMessage(message)
    } catch {
      // One result could not be cloned: send them one by one so only that one fails.
      Protocol.forEachResult(message, this.sendOne)
    }
  }

  private readonly sendOne = (id: number, outcome: Protocol.Report, value: unknown, runMs: number): void => {
    const single = Protocol.resultsMessage()
    Protocol.pushResult(single, id, outcome, value, runMs)
    try {
      this.port.postMessage(single)
    } catch (cause) {
      const unsendable = Protocol.resultsMessage()
      Protocol.pushResult(
        unsendable,
        id,
        Protocol.Report.ResultUnsendable,
        `the result could not be sent to the main thread: ${Protocol.errorInfo(cause).message}`,
        runMs
      )
      this.port.postMessage(unsendable)
    }
  }

  // Flushing from setImmediate lets the worker drain every Run message already waiting on its port first, so results
  // of many small messages go back as one.
  private flushSoon(): void {
    if (!this.flushScheduled) {
      this.flushScheduled = true
      setImmediate(this.flushNow)
    }
  }

  private readonly flushNow = (): void => {
    this.flushScheduled = false
    this.flush()
  }
}
