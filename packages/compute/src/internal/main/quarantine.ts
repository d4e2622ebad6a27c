/**
 * Poison tasks: a task that kills its worker every time (a native crash, an out-of-memory on certain inputs) would
 * kill replacement after replacement as long as callers resubmit it. A task name whose calls crashed their worker
 * `crashes` times within `withinMs` is quarantined for `forMs`: calls to it fail at once meanwhile, and other tasks
 * run on. When the quarantine ends, its crash history starts over.
 */
import type { Clock } from "./thread.ts"

export interface QuarantineOptions {
  readonly crashes: number
  readonly withinMs: number
  readonly forMs: number
}

interface History {
  /** when its recent crashes happened, oldest first, all within the window */
  readonly crashedAt: Array<number>
  quarantinedUntil: number
}

export class Quarantine {
  private readonly histories = new Map<string, History>()
  private readonly options: QuarantineOptions
  private readonly clock: Clock
  constructor(options: QuarantineOptions, clock: Clock) {
    this.options = options
    this.clock = clock
  }

  /** Whether calls to `task` must fail now, and for how much longer. */
  check(task: string): { readonly crashes: number; readonly remainingMs: number } | undefined {
    const history = this.histories.get(task)
    if (history === undefined) return undefined
    const remainingMs = history.quarantinedUntil - this.clock.now()
    if (remainingMs > 0) return { crashes: history.crashedAt.length, remainingMs }
    if (history.quarantinedUntil > 0) this.histories.delete(task)
    return undefined
  }

  /** A call to `task` was running when its worker crashed; true when this crash puts the task in quarantine. */
  crashed(task: string): boolean {
    const now = this.clock.now()
    let history = this.histories.get(task)
    if (history === undefined) {
      history = { crashedAt: [], quarantinedUntil: 0 }
      this.histories.set(task, history)
    }
    if (history.quarantinedUntil > now) return false
    history.crashedAt.push(now)
    while (history.crashedAt.length > 0 && now - history.crashedAt[0]! > this.options.withinMs) {
      history.crashedAt.shift()
    }
    if (history.crashedAt.length < this.options.crashes) return false
    history.quarantinedUntil = now + this.options.forMs
    return true
  }

  /** Tasks quarantined now. */
  get size(): number {
    const now = this.clock.now()
    let count = 0
    for (const history of this.histories.values()) if (history.quarantinedUntil > now) count++
    return count
  }
}
