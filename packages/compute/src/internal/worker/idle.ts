/**
 * A worker's idle life, every decision of it in one place: when it looks for work from elsewhere (its inbox, a peer's
 * steal slots), how long it spins before it sleeps, when it says it is hungry, and whom it wakes. The protocol — the
 * states, the hungry flag, and why no order of events loses a wake-up — is written down beside this file, in
 * `idle.md`; `test/WakeProtocol.test.ts` runs the idle check below against givers in every order.
 */
import { performance } from "node:perf_hooks"
import type { Region } from "../shared/region.ts"
import * as Timeline from "../shared/timeline.ts"

/** What the idle life needs of the worker around it. */
export interface IdleHost {
  readonly region: Region
  /** subtasks wait in this worker's own queue (the queue runs them: nothing to decide) */
  readonly hasQueued: () => boolean
  /** runs what the inbox holds now, in order; whether it ran anything */
  readonly readInbox: () => boolean
  /** whether the inbox holds something to run now (a look, taking nothing) */
  readonly inboxReadable: () => boolean
  /** whether anything was written in the inbox since it was last read (the spin's cheap look) */
  readonly inboxWritten: () => boolean
  /** takes the oldest subtask a peer published and starts it; whether there was one */
  readonly steal: () => boolean
  /** whether a peer has published a subtask (a look, taking nothing) */
  readonly canSteal: () => boolean
  /** a handler call or a stolen subtask is in hand, waiting on messages that a spin would keep from it */
  readonly inHand: () => boolean
  /** peers awake now: not hungry */
  readonly awakePeers: () => number
  /** the worker found nothing to do and is about to say it is hungry: what it holds back goes out now */
  readonly beforeSleep?: (() => void) | undefined
}

export interface IdleOptions {
  /** how long a worker out of work keeps looking before it sleeps (0: it sleeps at once) */
  readonly spinMicros: number
  /** the machine's cores, which the spin must leave to the main thread and the peers awake */
  readonly cores: number
  /**
   * Puts the idle check off until the messages already waiting have been read: `setImmediate`. The protocol test
   * runs the check's steps itself, in every order, through {@link Idle.checkSteps}.
   */
  readonly defer?: ((check: () => void) => void) | undefined
}

/** Something that may be hungry: a peer, as this worker sees it. */
export interface Sleeper {
  readonly region: Region
}

export class Idle {
  private checkScheduled = false
  private closed = false
  protected readonly host: IdleHost
  private readonly options: IdleOptions
  constructor(host: IdleHost, options: IdleOptions) {
    this.host = host
    this.options = options
  }

  /** Work came from elsewhere (a task from the main thread, a theft): the worker is not hungry. */
  busy(): void {
    if (this.host.region.hungry) this.host.region.setHungry(false)
  }

  /**
   * Something ended or arrived: once the worker has nothing left to run, it looks for work and, finding none, sleeps
   * hungry. Not at once, but after the messages already waiting (a result, a cancellation) have been read.
   */
  maybeIdle(): void {
    if (this.checkScheduled) return
    this.checkScheduled = true
    ;(this.options.defer ?? setImmediate)(this.idleCheck)
  }

  /**
   * Woken (`Wake`): the main thread or a peer fed this worker (took its hunger) after it gave it work. The work
   * may be gone by now (read while the worker looked for work itself, or stolen by another peer): then the worker is
   * idle again and must say so once more, or no one, finding it not hungry, would ever wake it.
   */
  woken(): void {
    if (!this.host.readInbox()) this.maybeIdle()
  }

  /** The worker is leaving: it takes nothing more and is never woken. */
  close(): void {
    this.closed = true
    this.host.region.setHungry(false)
  }

  /**
   * A giver's side: `count` pieces of work were just made visible (published in the steal slots); wakes as many
   * hungry peers. Each is fed by compare-and-swap, so one sleeper is woken by one giver, once.
   */
  wakeHungry<P extends Sleeper>(peers: Iterable<P>, count: number, wake: (peer: P) => void): void {
    if (count === 0) return
    for (const peer of peers) {
      if (!peer.region.feedIfHungry()) continue
      wake(peer)
      if (--count === 0) return
    }
  }

  /**
   * Takes work from elsewhere and starts it — the inbox first, then a peer's published subtask — spinning a while
   * first when the worker has nothing in hand, so that work arriving meanwhile costs no wake-up message (as Rayon's
   * idle threads do). It spins only while a core is free for it: one for each peer awake and one for the main
   * thread, which writes the work it waits for; on a machine with no core to spare a spinner would take theirs.
   */
  findWork(): boolean {
    return Timeline.around(Timeline.Kind.Look, this.lookForWork)
  }

  /**
   * The idle check, as steps: each `yield` stands where another thread may act, between two reads or writes of
   * shared memory. Out of work, the worker says it is hungry, then looks once more: a giver that made work visible
   * before the flag was set may have found it not hungry, and will not wake it; one that does so after sees the flag,
   * feeds it and wakes the worker. The flag stays set while the worker looks (cleared, a giver then would do
   * neither); work seen is taken only once the worker has fed itself; if a giver fed it first, its wake-up is on the
   * way.
   */
  protected *settle(): Generator<void, void> {
    const { host } = this
    const region = host.region
    if (this.closed || host.hasQueued()) return
    if (this.findWork()) return
    host.beforeSleep?.()
    yield
    region.setHungry(true)
    for (;;) {
      yield
      if (!(host.inboxReadable() || host.canSteal())) return
      yield
      if (!region.feed()) return
      yield
      if (this.findWork()) return
      yield
      region.setHungry(true)
    }
  }

  /** The idle check put off by {@link maybeIdle}, begun: its steps. */
  checkSteps(): Generator<void, void> {
    this.checkScheduled = false
    return this.settle()
  }

  private readonly idleCheck = (): void => {
    const steps = this.checkSteps()
    while (!steps.next().done) {
      // Run to its end: the steps are for the protocol test, which interleaves them with other threads'.
    }
  }

  private readonly lookForWork = (): boolean => {
    const host = this.host
    if (host.readInbox() || host.steal()) return true
    if (this.options.spinMicros <= 0 || host.inHand()) return false
    if (host.awakePeers() + 2 > this.options.cores) return false
    const deadline = performance.now() + this.options.spinMicros / 1_000
    for (let round = 1;; round++) {
      if (host.inboxWritten()) return host.readInbox() || host.steal()
      // The peers' slots and the clock are dearer to read than the inbox's tail: every 32 rounds.
      if ((round & 31) === 0) {
        if (host.steal()) return true
        if (performance.now() >= deadline) return false
      }
    }
  }
}
