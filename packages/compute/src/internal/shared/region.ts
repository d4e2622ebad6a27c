/**
 * A worker's shared region: memory every thread of the pool can read, written by its worker. It holds how the
 * worker's subtasks ended (the main thread reads these for the stats, without a message per subtask) and whether the
 * worker is hungry (idle, with nothing queued, asleep: a busy peer that hands it work, or the main thread that writes
 * its inbox, feeds it — swaps the flag back to 0 — and wakes it).
 */
import type { Outcome } from "../wire/outcome.ts"
import { outcomes } from "../wire/outcome.ts"
import * as Timeline from "./timeline.ts"

/** The counters, in this order: subtasks submitted here, then one per outcome. */
const countIndex: Record<Outcome | "submitted", number> = {
  submitted: 0,
  success: 1,
  failure: 2,
  defect: 3,
  interrupted: 4,
  crashed: 5,
  rejected: 6
}
const counterCount = 8
const flagsOffset = counterCount * 8
const flagCount = 4
/** the region's size before its steal slots (see `stealSlots.ts`) */
export const headerBytes = flagsOffset + flagCount * 4

/** Int32 cells after the counters. */
const Flag = {
  /** 1 while the worker sits idle with nothing queued; whoever gives it work (a peer, the main thread) swaps it to 0 first */
  hungry: 0
} as const

export class Region {
  readonly buffer: SharedArrayBuffer
  /** written by the worker only; plain numbers (an Int32 would wrap in a long-running service) */
  private readonly counts: Float64Array
  private readonly flags: Int32Array
  constructor(buffer: SharedArrayBuffer) {
    this.buffer = buffer
    this.counts = new Float64Array(buffer, 0, counterCount)
    this.flags = new Int32Array(buffer, flagsOffset, flagCount)
  }

  static allocate(extraBytes: number): Region {
    return new Region(new SharedArrayBuffer(headerBytes + extraBytes))
  }

  /** A subtask was queued here (1), or handed to the main thread, which counts it instead (-1). */
  submitted(delta: 1 | -1): void {
    this.counts[0]! += delta
  }

  ended(outcome: Outcome): void {
    this.counts[countIndex[outcome]]!++
  }

  /** Adds what the region counts to `into`: its subtasks' outcomes, and those not ended yet to `active`. */
  addTo(into: Record<Outcome | "submitted", number>): number {
    const submitted = this.counts[0]!
    let ended = 0
    into.submitted += submitted
    for (const outcome of outcomes) {
      const count = this.counts[countIndex[outcome]]!
      into[outcome] += count
      ended += count
    }
    return submitted - ended
  }

  get hungry(): boolean {
    return Atomics.load(this.flags, Flag.hungry) === 1
  }

  setHungry(hungry: boolean): void {
    Timeline.hungry(hungry)
    Atomics.store(this.flags, Flag.hungry, hungry ? 1 : 0)
  }

  /** Takes the worker's hunger for oneself: true for exactly one of the peers that try at once. */
  feed(): boolean {
    return Atomics.compareExchange(this.flags, Flag.hungry, 1, 0) === 1
  }

  /**
   * A giver's side (the main thread after writing the inbox, a peer after publishing a subtask), once its work is
   * visible: feeds the worker if it is hungry; true when the caller must wake it. See `worker/idle.md`.
   */
  feedIfHungry(): boolean {
    return this.hungry && this.feed()
  }
}
