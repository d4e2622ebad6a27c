/**
 * The worker side of the pool, wired together: start-up (the per-worker Layer), the message loop on the parent
 * port, reading the inbox, and retiring. Running a handler is the task runner's (`taskRunner.ts`), idling and waking
 * the idle life's (`idle.ts`), results leave through the outbox (`outbox.ts`), subtasks a task spawns go through the
 * nested pool (`nestedPool.ts`) into the worker's own queue (`subtaskQueue.ts`), and what it lends to and steals from
 * other workers is the peers' (`peers.ts`).
 */
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Scheduler from "effect/Scheduler"
import * as Scope from "effect/Scope"
import type { MessagePort } from "node:worker_threads"
import type * as ComputeTask from "../../ComputeTask.ts"
import type { InboxHandler, InboxReader } from "../shared/inbox.ts"
import type { Region } from "../shared/region.ts"
import * as Timeline from "../shared/timeline.ts"
import * as Protocol from "../wire/protocol.ts"
import * as HandlerScheduler from "./handlerScheduler.ts"
import { Idle } from "./idle.ts"
import * as NestedPool from "./nestedPool.ts"
import { Outbox } from "./outbox.ts"
import { Peers } from "./peers.ts"
import { Pieces } from "./splitting.ts"
import { SubtaskQueue } from "./subtaskQueue.ts"
import { makeTaskRunner, type RunnerWiring } from "./taskRunner.ts"

export interface WorkerRuntimeOptions {
  readonly port: MessagePort
  readonly workerId: number
  readonly claims: Int32Array
  readonly region: Region
  /** where the main thread writes tasks for this worker (see `inbox.ts`); without one, they come as Run messages */
  readonly inbox: InboxReader | undefined
  /** how long the worker, out of work, keeps looking for more before it sleeps */
  readonly idleSpinMicros: number
  /** the cores the idle spin counts on (see `idle.ts`) */
  readonly cores: number
  /** the pool's size, as seen by tasks that use the pool themselves */
  readonly threads: number
  readonly tasks: ReadonlyArray<ComputeTask.Any>
  readonly layer: Layer.Layer<any, unknown, never> | undefined
}

export const start = (options: WorkerRuntimeOptions): void => {
  const { claims, port, workerId } = options
  Timeline.attach(workerId)
  const registry = new Map<string, ComputeTask.Any>()
  for (const task of options.tasks) {
    if (registry.has(task.name)) {
      throw new Error(`ComputeWorker.serve: two tasks are named "${task.name}"; task names must be unique`)
    }
    registry.set(task.name, task)
  }

  const outbox = new Outbox(port)
  // Filled below, once the queue, the pool and the splitter exist (each needs the runner), and the Layer is built.
  const wiring = { services: Context.empty() } as RunnerWiring
  const runner = makeTaskRunner(workerId, claims, registry, outbox, wiring)
  const peers = new Peers({
    workerId,
    region: options.region,
    registry,
    start: runner.runStolen,
    leave: () => leave(),
    takeTallies: () => outbox.takeTallies(),
    mergeTallies: (tallies) => outbox.mergeTallies(tallies)
  })
  const idle: Idle = new Idle({
    region: options.region,
    hasQueued: (): boolean => queue.hasQueued,
    readInbox: () => readInbox(),
    inboxReadable: () => inboxReadable(),
    inboxWritten: () => inbox !== undefined && inbox.hasRecords(),
    steal: () => peers.steal(),
    canSteal: () => peers.canSteal(),
    inHand: () => runner.running.size > 0 || peers.runsStolen,
    awakePeers: () => peers.awake(),
    beforeSleep: outbox.flushTallies
  }, {
    // Without an inbox, work comes only as messages, which a spin would keep from the worker.
    spinMicros: options.inbox === undefined ? 0 : options.idleSpinMicros,
    cores: options.cores
  })
  const queue: SubtaskQueue = new SubtaskQueue({
    region: options.region,
    tally: (name, outcome, runMs) => outbox.tally(name, outcome, runMs),
    peers: () => peers.values(),
    run: runner.runSubtask,
    publish: (subtask) => peers.publish(subtask),
    sendToMain: (subtask) => pool.sendToMain(subtask),
    wake: (peer) => peers.wake(peer),
    reclaim: (subtask) => peers.reclaim(subtask),
    idle
  })
  peers.queue = queue
  peers.idle = idle
  const pieces = new Pieces(workerId, options.threads, queue)
  const pool = NestedPool.make(port, options.threads, queue, pieces)
  wiring.queue = queue
  wiring.pool = pool
  wiring.pieces = pieces

  const runAndFlush: Protocol.RunEntryReader = (id, name, kind, claim, payload, trace) => {
    runner.runOne(id, name, kind, claim, payload, trace)
    outbox.flushIfDue()
  }

  const runMessage = (message: Protocol.RunMessage) => {
    idle.busy()
    outbox.beginRun()
    Protocol.forEachRunEntry(message, runAndFlush)
    outbox.endRun((message[1] & Protocol.RunFlag.Urgent) !== 0)
  }

  // ---- the inbox: tasks from the main thread, written in shared memory or posted (their place kept in the inbox)

  const inbox = options.inbox
  /** posted Run messages whose place in the inbox has not been reached yet */
  const posted: Array<Protocol.RunMessage> = []
  let reading = false
  const inboxHandler: InboxHandler = {
    beginBatch: () => {
      idle.busy()
      outbox.beginRun()
    },
    entry: runAndFlush,
    endBatch: (urgent) => outbox.endRun(urgent),
    posted: () => {
      const message = posted.shift()
      if (message === undefined) return false
      runMessage(message)
      return true
    }
  }

  /** Whether the inbox holds something to run now (not only the place of a posted batch still on its way). */
  const inboxReadable = (): boolean =>
    inbox !== undefined && inbox.hasRecords() && (posted.length > 0 || !inbox.nextIsPosted())

  /** Runs what waits in the inbox, in order; whether it ran anything. (Not re-entered: a handler may spin.) */
  const readInbox = (): boolean => {
    if (reading || inbox === undefined || !inboxReadable()) return false
    reading = true
    let read: boolean
    try {
      read = inbox.read(inboxHandler)
    } finally {
      reading = false
    }
    if (read) idle.maybeIdle()
    return read
  }

  const onRun = (message: Protocol.RunMessage) => {
    if (inbox === undefined) {
      runMessage(message)
      return idle.maybeIdle()
    }
    if ((message[1] & Protocol.RunFlag.Unplaced) !== 0) {
      // No place was kept for it (the inbox was full): after what can be read, it runs now.
      readInbox()
      runMessage(message)
      return idle.maybeIdle()
    }
    posted.push(message)
    // Its place may not be written yet: the idle check that follows sets the hungry flag, so that the main thread,
    // once it has written it, wakes this worker.
    if (!readInbox()) idle.maybeIdle()
  }

  port.on("message", (message: Protocol.ToWorker) => {
    switch (message[0]) {
      case Protocol.Run:
        return onRun(message)
      case Protocol.Cancel:
        return runner.cancel(message[1])
      case Protocol.ChildResult:
        return pool.onChildResult(message[1], message[2])
      case Protocol.Wake:
        return idle.woken()
      case Protocol.Retire:
        readInbox()
        return retire()
      case Protocol.Peer:
        return peers.onPeer(message[1], message[2], message[3])
      case Protocol.PeerLost:
        return peers.onPeerLost(message[1], message[2], message[3])
    }
  })

  // Retired by the pool (recycled, or the pool shrinks), holding no task of its own: once the subtasks it stole are
  // answered, finalise the per-worker Layer, then leave.
  const retire = () => {
    queue.close()
    if (peers.retire()) leave()
  }
  const leave = () => Effect.runCallback(Scope.close(scope, Exit.void), { onExit: () => process.exit(0) })

  const scope = Effect.runSync(Scope.make())
  const build = options.layer === undefined
    ? Effect.succeed(undefined)
    : Layer.buildWithScope(options.layer, scope)
  Effect.runCallback(build, {
    onExit: (exit) => {
      if (Exit.isFailure(exit)) {
        const info = Protocol.errorInfo(Cause.squash(exit.cause))
        port.postMessage(
          [Protocol.StartFailed, { ...info, stack: Cause.pretty(exit.cause) }] satisfies Protocol.StartFailedMessage
        )
        return
      }
      const services = exit.value === undefined ? Context.empty() as Context.Context<any> : exit.value
      wiring.services = Context.add(services, Scheduler.Scheduler, HandlerScheduler.make())
      port.postMessage([Protocol.Ready] satisfies Protocol.ReadyMessage)
      idle.maybeIdle()
    }
  })
}
