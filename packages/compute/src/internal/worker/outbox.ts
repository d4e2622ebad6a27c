/**
 * A worker's outbox: the outcomes of finished tasks wait here and go to the main thread together, as one Results
 * message, so the per-task cost of `postMessage` falls as load rises. When a message cannot be sent (one result
 * would not structured-clone), its results go one by one, so only that one fails. One concept: when results leave
 * the worker and how, whatever task produced them.
 */
import { performance } from "node:perf_hooks"
import type { MessagePort } from "node:worker_threads"
import { type Outcome, outcomes } from "../wire/outcome.ts"
import * as Protocol from "../wire/protocol.ts"

/** Results are flushed at least this often (ms) while a long batch runs, so callers are not held back by it. */
const flushIntervalMs = 1

export class Outbox {
  private readonly port: MessagePort
  private message = Protocol.resultsMessage()
  private tallied = Protocol.tallyMessage()
  private flushScheduled = false
  private lastFlush = performance.now()
  /** Set while a Run message is being handled: outcomes reported then go out with that message's flush. */
  private inRun = false

  constructor(port: MessagePort) {
    this.port = port
  }

  /** Queues a task's outcome; outside a Run message it goes out once the worker has read what waits on its port. */
  add(id: number, outcome: Protocol.Outcome, value: unknown, runMs: number): void {
    Protocol.pushResult(this.message, id, outcome, value, runMs)
    if (!this.inRun) this.flushSoon()
  }

  /** Queues a subtask's ending for the main thread's per-task metrics; it goes out with the next flush. */
  tally(taskName: string, outcome: Outcome, runMs: number | undefined): void {
    Protocol.pushTally(this.tallied, taskName, outcomes.indexOf(outcome), runMs)
    if (!this.inRun) this.flushSoon()
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
    if (Protocol.hasTallies(this.tallied)) {
      const tallied = this.tallied
      this.tallied = Protocol.tallyMessage()
      this.port.postMessage(tallied)
    }
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

  private readonly sendOne = (id: number, outcome: Protocol.Outcome, value: unknown, runMs: number): void => {
    const single = Protocol.resultsMessage()
    Protocol.pushResult(single, id, outcome, value, runMs)
    try {
      this.port.postMessage(single)
    } catch (cause) {
      const unsendable = Protocol.resultsMessage()
      Protocol.pushResult(
        unsendable,
        id,
        Protocol.Outcome.ResultUnsendable,
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
