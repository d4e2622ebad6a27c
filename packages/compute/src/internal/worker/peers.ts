/**
 * A worker's peers, and what passes between them without the main thread: the subtasks this worker lends through
 * its steal slots (published, taken back, answered by a thief, failed when the thief dies) and the ones it steals
 * from theirs (run here, answered over the port between the two, stopped when asked or when their owner dies). The
 * main thread introduces the peers (`Peer`) and says when one is gone (`PeerLost`).
 */
import { performance } from "node:perf_hooks"
import { type MessagePort, receiveMessageOnPort } from "node:worker_threads"
import type * as ComputeTask from "../../ComputeTask.ts"
import { Region } from "../shared/region.ts"
import { doesNotFit, StealSlots, type Stolen } from "../shared/stealSlots.ts"
import * as Timeline from "../shared/timeline.ts"
import { outcomeOf } from "../wire/outcome.ts"
import * as Protocol from "../wire/protocol.ts"
import { fromWorker } from "../wire/settlement.ts"
import type { Idle } from "./idle.ts"
import type { Peer, Subtask, SubtaskQueue } from "./subtaskQueue.ts"

/** A peer worker: its region, its steal slots, and the port between the two. */
interface PeerLink extends Peer {
  readonly slots: StealSlots
  readonly port: MessagePort
  /** how to stop each run of a subtask stolen from it, by the subtask's token there */
  readonly stolen: Map<number, () => void>
  /** it has exited: what was stolen from it has no one to answer to */
  gone: boolean
}

/** What the peers need of the worker they serve. */
export interface PeersHost {
  readonly workerId: number
  readonly region: Region
  readonly registry: ReadonlyMap<string, ComputeTask.Any>
  /**
   * Starts a stolen subtask's handler; `done` takes its encoded outcome, once. Returns how to stop it, or undefined
   * when it has already ended.
   */
  readonly start: (
    task: ComputeTask.Any,
    stolen: Stolen,
    isCancelled: () => boolean,
    done: (outcome: Protocol.Report, value: unknown) => void
  ) => (() => void) | undefined
  /** the retiring worker answered the last subtask it stole: it may leave */
  readonly leave: () => void
  /** the subtask endings this worker holds back for the metrics (`outbox.ts`), taken to go with an answer */
  readonly takeTallies: () => Protocol.SubtaskTallyMessage | undefined
  /** a thief's subtask endings, handed over with its answer, to send with this worker's own */
  readonly mergeTallies: (tallies: Protocol.SubtaskTallyMessage) => void
}

export class Peers {
  private readonly links = new Map<number, PeerLink>()
  /** this worker's steal slots, and what it has published there, by slot (not a Map churned per subtask: a GC drag
   * once its table is tenured) */
  private readonly slots: StealSlots
  private readonly published: Array<Subtask | undefined> = []
  private nextToken = 1
  /** runs of stolen subtasks not yet answered; a retiring worker waits for them */
  private stolenRunning = 0
  private leaving = false
  private readonly host: PeersHost
  /** set once: the queue and the peers each need the other */
  queue!: SubtaskQueue
  /** set once: the worker's idle life (stealing is work from elsewhere; a peer's answer may leave it idle) */
  idle!: Idle
  constructor(host: PeersHost) {
    this.host = host
    this.slots = new StealSlots(host.region.buffer)
  }

  values(): Iterable<Peer> {
    return this.links.values()
  }

  // ---- lending

  /** Publishes a subtask in the steal slots; false when it is too big for one or not serialisable there. */
  publish(subtask: Subtask): boolean {
    if (!subtask.fitsSlot) return false
    const token = this.nextToken
    const slot = this.slots.publish(
      token,
      subtask.rootId,
      subtask.task.name,
      subtask.kind,
      subtask.encoded,
      subtask.trace
    )
    if (slot < 0) {
      // Not tried again each time the queue offers it: serialising a big payload to find that out costs.
      if (slot === doesNotFit) subtask.fitsSlot = false
      return false
    }
    this.nextToken = (this.nextToken + 1) | 0
    subtask.slot = slot
    subtask.token = token
    this.published[slot] = subtask
    Timeline.published(subtask, token)
    subtask.recall = () => {
      this.slots.requestCancel(slot)
      const thief = this.links.get(this.slots.thiefOf(slot))
      thief?.port.postMessage([Protocol.CancelStolen, token] satisfies Protocol.CancelStolenMessage)
    }
    return true
  }

  /** Takes a published subtask back to run it here; false when a thief got it first. */
  reclaim(subtask: Subtask): boolean {
    if (!this.slots.retract(subtask.slot)) return false
    this.published[subtask.slot] = undefined
    subtask.slot = -1
    return true
  }

  wake(peer: Peer): void {
    ;(peer as PeerLink).port.postMessage([Protocol.Wake] satisfies Protocol.WakeMessage)
  }

  /** A thief answered for a subtask it stole from here. */
  private answered(thief: number, message: Protocol.StolenResultMessage): void {
    const [, slot, token, outcome, value, runMs, tallies] = message
    // Counted whatever became of the subtask here: they are the endings of what ran on the thief.
    if (tallies !== undefined) this.host.mergeTallies(tallies)
    const subtask = this.published[slot]
    if (subtask === undefined || subtask.token !== token) return
    Timeline.answered(thief, token)
    this.unpublish(slot, subtask)
    const settlement = fromWorker(subtask.task, subtask.kind, thief, outcome, value)
    this.queue.end(subtask, outcomeOf(settlement), settlement, runMs)
  }

  private unpublish(slot: number, subtask: Subtask): void {
    this.published[slot] = undefined
    this.slots.release(slot)
    subtask.slot = -1
  }

  // ---- stealing

  /** Whether a peer has published a subtask (one may be stolen). */
  canSteal(): boolean {
    if (this.leaving) return false
    for (const peer of this.links.values()) if (!peer.gone && peer.slots.hasPublished()) return true
    return false
  }

  /** Peers awake now: not hungry (running, spinning, or just handed work). */
  awake(): number {
    let count = 0
    for (const peer of this.links.values()) if (!peer.gone && !peer.region.hungry) count++
    return count
  }

  /** Whether this worker runs a subtask it stole. */
  get runsStolen(): boolean {
    return this.stolenRunning > 0
  }

  /** Takes the oldest subtask a peer has published and starts it here; false when no peer had one. */
  steal(): boolean {
    if (this.leaving) return false
    for (const peer of this.links.values()) {
      if (peer.gone || !peer.slots.hasPublished()) continue
      const mark = Timeline.mark()
      const stolen = peer.slots.steal(this.host.workerId)
      if (stolen !== undefined) {
        Timeline.stole(mark, peer.id, stolen.token)
        this.run(peer, stolen)
        return true
      }
    }
    return false
  }

  /** Runs a stolen subtask; its outcome goes back to its owner, worker to worker. */
  private run(owner: PeerLink, stolen: Stolen): void {
    this.idle.busy()
    this.stolenRunning++
    const { slot, token } = stolen
    const started = performance.now()
    let answered = false
    const answer = (outcome: Protocol.Report, value: unknown) => {
      answered = true
      owner.stolen.delete(token)
      this.stolenRunning--
      owner.slots.markAnswered(slot)
      if (!owner.gone) {
        // The endings of what ran here go with the answer: the owner sends them before it can end the root task.
        send(owner.port, slot, token, outcome, value, performance.now() - started, this.host.takeTallies())
      }
      if (this.leaving && this.stolenRunning === 0) this.host.leave()
      else this.idle.maybeIdle()
    }
    const task = this.host.registry.get(stolen.name)
    if (task === undefined) return answer(Protocol.Report.NotServed, undefined)
    const mark = Timeline.begin()
    const stop = this.host.start(task, stolen, () => owner.gone || owner.slots.isCancelRequested(slot), answer)
    Timeline.end(Timeline.Kind.Stolen, mark, owner.id, token)
    if (stop !== undefined && !answered) owner.stolen.set(token, stop)
  }

  /** The worker is retiring: it steals no more; true when nothing stolen is left to answer (it may leave now). */
  retire(): boolean {
    this.leaving = true
    return this.stolenRunning === 0
  }

  // ---- the main thread's news

  onPeer(peerId: number, region: SharedArrayBuffer, port: MessagePort): void {
    const peer: PeerLink = {
      id: peerId,
      region: new Region(region),
      slots: new StealSlots(region),
      port,
      stolen: new Map(),
      gone: false
    }
    this.links.set(peerId, peer)
    port.on("message", (message: Protocol.FromPeer) => this.heard(peer, message))
    // The peer may have published work already, and found this worker not hungry (busy, or spinning idle while this
    // message waited): look at its slots now, or the two may never meet.
    this.idle.maybeIdle()
  }

  private heard(peer: PeerLink, message: Protocol.FromPeer): void {
    switch (message[0]) {
      case Protocol.Wake:
        return this.idle.woken()
      case Protocol.StolenResult:
        return this.answered(peer.id, message)
      case Protocol.CancelStolen:
        return peer.stolen.get(message[1])?.()
    }
  }

  /**
   * A peer exited. What it answered before it left stands; what it stole from here and had not answered ended with
   * it (crashed); what this worker stole from it has no one to answer to, and is stopped.
   *
   * Its answers are read from the port first. The peer posted each one before it exited, and the main thread sent
   * this news after it saw the exit, so every answer is already queued on the port — but this worker, busy in a task,
   * may read the main thread's news first. Only what is still unanswered once the port is empty failed with the peer,
   * so a subtask answered just before its thief retired or crashed is never failed (nor, a clean retirement having
   * answered everything, is anything failed then).
   */
  onPeerLost(peerId: number, exitCode: number, why: string): void {
    const peer = this.links.get(peerId)
    if (peer === undefined) return
    for (let left = receiveMessageOnPort(peer.port); left !== undefined; left = receiveMessageOnPort(peer.port)) {
      this.heard(peer, left.message as Protocol.FromPeer)
    }
    this.links.delete(peerId)
    peer.gone = true
    for (const stop of peer.stolen.values()) stop()
    peer.port.close()
    for (let slot = 0; slot < this.published.length; slot++) {
      const subtask = this.published[slot]
      if (subtask === undefined || this.slots.thiefOf(slot) !== peerId) continue
      this.unpublish(slot, subtask)
      this.queue.end(subtask, "crashed", {
        _tag: "Crashed",
        workerId: peerId,
        exitCode,
        message: `the worker that took it died: ${why}`
      })
    }
  }
}

const send = (
  port: MessagePort,
  slot: number,
  token: number,
  outcome: Protocol.Report,
  value: unknown,
  runMs: number,
  tallies: Protocol.SubtaskTallyMessage | undefined
): void => {
  try {
    port.postMessage(
      [Protocol.StolenResult, slot, token, outcome, value, runMs, tallies] satisfies Protocol.StolenResultMessage
    )
  } catch (cause) {
    const message = `the result could not be sent to the worker that spawned it: ${Protocol.errorInfo(cause).message}`
    port.postMessage(
      [
        Protocol.StolenResult,
        slot,
        token,
        Protocol.Report.ResultUnsendable,
        message,
        runMs,
        tallies
      ] satisfies Protocol.StolenResultMessage
    )
  }
}
