/**
 * A worker's own queue of subtasks, as a Rayon thread's deque: a task running here that spawns subtasks
 * (`ComputePool.execute`, `join`, `ComputeParallel.map` inside a handler) puts them here, and while it waits the
 * worker runs them itself, newest first. Their outcomes go straight back to their parents — no message, no main
 * thread. Whenever the worker starts one while older ones wait, the oldest waiting ones (one per peer) are published
 * in its steal slots (see `stealSlots.ts`), where an idle peer takes them, and hungry peers are woken; one that
 * cannot be published goes to the main thread's scheduler, as before, if a peer is hungry. Every subtask ends here
 * exactly once and is counted in the worker's region (how the main thread's stats see it).
 */
import { performance } from "node:perf_hooks"
import type * as ComputeTask from "../../ComputeTask.ts"
import type { Region } from "../shared/region.ts"
import * as Timeline from "../shared/timeline.ts"
import type { Outcome } from "../wire/outcome.ts"
import type * as Protocol from "../wire/protocol.ts"
import type { Settlement } from "../wire/settlement.ts"
import type { Idle } from "./idle.ts"

/** Something running in this worker that subtasks can belong to: a task from the main thread, or a subtask. */
export interface Parent {
  /** the main thread's id of the task at the root of this tree: a subtask sent to the main thread names it */
  readonly rootId: number
  /** whether it, or a task above it, was interrupted */
  isCancelled(): boolean
  /** `[traceId, spanId]` of the root caller's span when the pool traces */
  readonly trace: readonly [string, string] | undefined
}

export const SubtaskState = {
  Queued: 0,
  /** run by this worker */
  Running: 1,
  /** given away: to a peer through the steal slots, or to the main thread */
  Away: 2,
  Done: 3
} as const
export type SubtaskState = (typeof SubtaskState)[keyof typeof SubtaskState]

export class Subtask implements Parent {
  state: SubtaskState = SubtaskState.Queued
  /** its parent stopped waiting for it (interrupted): it ends as interrupted, and `stopped` is told */
  cancelled = false
  stopped: (() => void) | undefined = undefined
  /** while it runs here and went async: stops its handler (see the worker runtime) */
  interrupt: (() => void) | undefined = undefined
  /** while away: how to stop it there, set by whoever took it */
  recall: (() => void) | undefined = undefined
  /** its steal slot while it is published for peers to take, else -1 */
  slot = -1
  /** false once its payload is known not to fit in a steal slot: publishing it is not tried again */
  fitsSlot = true
  token = 0
  readonly task: ComputeTask.Any
  readonly kind: Protocol.Kind
  readonly encoded: unknown
  readonly parent: Parent
  /** what the parent does with the outcome */
  private readonly onSettle: (settlement: Settlement) => void
  constructor(
    task: ComputeTask.Any,
    kind: Protocol.Kind,
    encoded: unknown,
    parent: Parent,
    onSettle: (settlement: Settlement) => void
  ) {
    this.task = task
    this.kind = kind
    this.encoded = encoded
    this.parent = parent
    this.onSettle = onSettle
  }

  get rootId(): number {
    return this.parent.rootId
  }

  get trace(): readonly [string, string] | undefined {
    return this.parent.trace
  }

  isCancelled(): boolean {
    return this.cancelled || this.parent.isCancelled()
  }

  /** Ends it: the parent gets the outcome, or, when it stopped waiting, is told the subtask has stopped. */
  settle(settlement: Settlement): void {
    this.state = SubtaskState.Done
    if (this.stopped !== undefined) return this.stopped()
    this.onSettle(settlement)
  }
}

/** Another worker, as this one knows it. */
export interface Peer {
  readonly id: number
  readonly region: Region
}

/** What the queue needs of the worker it lives in. */
export interface QueueHost {
  readonly region: Region
  /** reports a subtask's ending for the per-task metrics (`runMs` undefined when it never ran) */
  readonly tally: (taskName: string, outcome: Outcome, runMs: number | undefined) => void
  /** the peers' regions, to find a hungry one */
  readonly peers: () => Iterable<Peer>
  /** starts the subtask's handler; its ending comes back through {@link SubtaskQueue.end} */
  readonly run: (subtask: Subtask) => void
  /** Publishes the subtask in this worker's steal slots (it stays queued here too); false if it cannot be. */
  readonly publish: (subtask: Subtask) => boolean
  /** Sends the subtask to the main thread's scheduler instead; false if it cannot be sent. */
  readonly sendToMain: (subtask: Subtask) => boolean
  /** Tells a peer (just fed: see `idle.md`) that there is work to steal. */
  readonly wake: (peer: Peer) => void
  /** Takes a published subtask back to run it here; false when a peer stole it (it is away then). */
  readonly reclaim: (subtask: Subtask) => boolean
  /** the worker's idle life: told when the worker gets work, and when it may run dry */
  readonly idle: Idle
}

/** How long the queue runs subtasks in one go before it lets the worker read its messages (ms). */
const runBudgetMs = 2

const interrupted: Settlement = { _tag: "Interrupted" }

// A microtask without `queueMicrotask`'s async-hooks resource (one object per call, measured in the profile).
const resolved = Promise.resolve()

export class SubtaskQueue {
  /** oldest first; this worker takes from the end */
  private readonly items: Array<Subtask> = []
  private runningQueued = false
  private scheduled = false
  private closed = false
  private readonly host: QueueHost
  constructor(host: QueueHost) {
    this.host = host
  }

  push(subtask: Subtask): void {
    this.host.region.submitted(1)
    Timeline.queued(subtask)
    this.items.push(subtask)
    this.host.idle.busy()
    if (!this.runningQueued && !this.scheduled) {
      this.scheduled = true
      resolved.then(this.runQueued)
    }
  }

  /** A subtask this worker ran (or lent and got back the outcome of) ended; `outcome` as reported. */
  end(subtask: Subtask, outcome: Outcome, settlement: Settlement, runMs?: number): void {
    if (subtask.state === SubtaskState.Done) return
    const cancelled = subtask.isCancelled()
    const counted = cancelled ? "interrupted" : outcome
    this.host.region.ended(counted)
    this.host.tally(subtask.task.name, counted, runMs)
    subtask.settle(cancelled ? interrupted : settlement)
  }

  /** A subtask the main thread ran and counted ended. */
  endElsewhere(subtask: Subtask, settlement: Settlement): void {
    if (subtask.state === SubtaskState.Done) return
    subtask.settle(subtask.isCancelled() ? interrupted : settlement)
  }

  /** The subtask went to the main thread, which counts it from now on. */
  handedToMain(subtask: Subtask): void {
    subtask.state = SubtaskState.Away
    this.host.region.submitted(-1)
  }

  /** Its parent was interrupted: stop the subtask wherever it is; `stopped` runs once it can no longer run. */
  cancel(subtask: Subtask, stopped: () => void): void {
    if (subtask.state === SubtaskState.Done) return stopped()
    subtask.cancelled = true
    subtask.stopped = stopped
    if (subtask.state === SubtaskState.Queued && subtask.slot >= 0 && !this.host.reclaim(subtask)) {
      // A peer has just stolen it: it is stopped there.
      subtask.state = SubtaskState.Away
    }
    switch (subtask.state) {
      case SubtaskState.Queued:
        // Left in the array; the queue skips it.
        return this.end(subtask, "interrupted", interrupted)
      case SubtaskState.Running:
        return subtask.interrupt?.()
      case SubtaskState.Away:
        return subtask.recall?.()
    }
  }

  /** Whether subtasks wait here to run. */
  get hasQueued(): boolean {
    return this.items.length > 0
  }

  /** No more sharing: the worker is leaving. */
  close(): void {
    this.closed = true
    this.host.idle.close()
  }

  /** Runs queued subtasks newest first, offering the oldest waiting ones to peers as it goes. */
  private readonly runQueued = (): void => {
    this.scheduled = false
    this.runningQueued = true
    const started = performance.now()
    try {
      for (let subtask = this.items.pop(); subtask !== undefined; subtask = this.items.pop()) {
        if (subtask.state !== SubtaskState.Queued) continue
        if (subtask.slot >= 0 && !this.host.reclaim(subtask)) {
          // A peer stole it: its outcome comes from there.
          subtask.state = SubtaskState.Away
          continue
        }
        if (this.items.length > 0) this.offerWaiting()
        subtask.state = SubtaskState.Running
        this.host.run(subtask)
        if (this.items.length > 0 && performance.now() - started >= runBudgetMs) {
          this.scheduled = true
          setImmediate(this.runQueued)
          return
        }
      }
    } finally {
      this.runningQueued = false
    }
    this.host.idle.maybeIdle()
  }

  /**
   * Something is about to run here while older subtasks wait: the oldest ones, one per peer, are published for
   * thieves, and hungry peers are woken to take them. One that cannot be published goes to the main thread instead,
   * if a peer is hungry for it.
   */
  private offerWaiting(): void {
    if (this.closed) return
    let offered = 0
    let index = 0
    for (const peer of this.host.peers()) {
      // The oldest subtask still waiting here and not yet offered (ended ones are dropped on the way).
      while (index < this.items.length && this.items[index]!.state !== SubtaskState.Queued) this.items.splice(index, 1)
      const subtask = this.items[index]
      if (subtask === undefined) break
      if (subtask.slot >= 0 || this.host.publish(subtask)) {
        offered++
        index++
      } else if (peer.region.hungry) {
        // Only looked at, not fed: the peer is still hungry for whoever else has work, the main thread included
        // (fed and then made hungry again, it would be hidden from one that looked meanwhile, who would not wake it).
        if (this.host.sendToMain(subtask)) this.items.splice(index, 1)
        else index++
      } else index++
    }
    this.host.idle.wakeHungry(this.host.peers(), offered, this.host.wake)
  }
}
