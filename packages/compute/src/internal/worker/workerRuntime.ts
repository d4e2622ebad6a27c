/**
 * The worker side of the pool, wired together: the message loop on the parent port, running a task or a chunk of
 * them, and start-up (the per-worker Layer). Handlers are called through handlerCall.ts, results leave through the
 * outbox (outbox.ts), subtasks a task spawns go through nestedPool.ts into the worker's own queue (subtaskQueue.ts),
 * and what it lends to and steals from other workers is peers.ts's. No fiber is started for a handler that returns a
 * plain value; Effect handlers run as fibers with the per-worker services.
 */
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Scheduler from "effect/Scheduler"
import * as Scope from "effect/Scope"
import * as Tracer from "effect/Tracer"
import { performance } from "node:perf_hooks"
import type { MessagePort } from "node:worker_threads"
import { ComputeError, isComputeError } from "../../ComputeError.ts"
import type * as ComputeTask from "../../ComputeTask.ts"
import { ComputePool } from "../service.ts"
import type { InboxHandler, InboxReader } from "../shared/inbox.ts"
import type { Region } from "../shared/region.ts"
import * as Timeline from "../shared/timeline.ts"
import * as Codec from "../wire/codec.ts"
import { outcomeOf } from "../wire/outcome.ts"
import * as Protocol from "../wire/protocol.ts"
import { fromWorker } from "../wire/settlement.ts"
import * as HandlerCall from "./handlerCall.ts"
import * as HandlerScheduler from "./handlerScheduler.ts"
import * as NestedPool from "./nestedPool.ts"
import { Outbox } from "./outbox.ts"
import { Peers } from "./peers.ts"
import { type Piece, Pieces } from "./splitting.ts"
import { type Parent, type Subtask, SubtaskQueue } from "./subtaskQueue.ts"

/** Takes a handler call's encoded outcome; called once per call. */
type Done = (outcome: Protocol.Outcome, value: unknown) => void

/** Whether a run was interrupted: its claim cell, its steal slot, or its parent (see {@link Parent}). */
interface CancelSource {
  readonly isCancelled: () => boolean
}

/**
 * A handler call started and not yet finished — a task from the main thread or a subtask: where its outcome goes, and
 * how to stop it. It is the handler's `TaskContext`, and the parent of the subtasks its handler spawns.
 */
class Running implements Parent, ComputeTask.TaskContext {
  abort: AbortController | undefined = undefined
  interrupt: (() => void) | undefined = undefined
  readonly workerId: number
  readonly rootId: number
  readonly trace: readonly [string, string] | undefined
  readonly done: Done
  private readonly source: CancelSource
  constructor(
    workerId: number,
    rootId: number,
    trace: readonly [string, string] | undefined,
    source: CancelSource,
    done: Done
  ) {
    this.workerId = workerId
    this.rootId = rootId
    this.trace = trace
    this.source = source
    this.done = done
  }

  isCancelled(): boolean {
    return this.source.isCancelled()
  }

  // An own function, not a method: handlers may take it out of the context.
  readonly isInterrupted = (): boolean => this.source.isCancelled() || this.abort?.signal.aborted === true

  get signal(): AbortSignal {
    this.abort ??= new AbortController()
    if (this.source.isCancelled()) this.abort.abort()
    return this.abort.signal
  }
}

/** Stops a running handler call: an Effect's fiber is interrupted, anything else has its signal aborted. */
const stop = (state: Running) => {
  if (state.interrupt) state.interrupt()
  else {
    state.abort ??= new AbortController()
    state.abort.abort()
  }
}

// A worker's endings report through `run.done`: a settled Promise has nothing more to pass on.
const ignore = () => {}

/** Encodes a handler's value with its schema; one that does not match is reported as unsendable. */
const encodeOutcome = (schema: ComputeTask.TaskSchema, outcome: Protocol.Outcome, value: unknown, done: Done) => {
  const encoded = Codec.encode(schema, value)
  if (encoded.ok) done(outcome, encoded.value)
  else done(Protocol.Outcome.ResultUnsendable, `the handler's result does not match its schema: ${encoded.error}`)
}

/** The encoded outcome of an Effect handler's fiber. */
const exitOutcome = (task: ComputeTask.Any, exit: Exit.Exit<unknown, unknown>, done: Done) => {
  if (Exit.isSuccess(exit)) return encodeOutcome(task.success, Protocol.Outcome.Success, exit.value, done)
  const failure = Cause.findErrorOption(exit.cause)
  if (failure._tag === "Some") {
    // A subtask's pool error (a crash deep in a tree of tasks, say) goes up as itself, whatever the task's schema.
    if (isComputeError(failure.value)) {
      return encodeOutcome(ComputeError as any, Protocol.Outcome.ComputeFailure, failure.value, done)
    }
    return encodeOutcome(task.failure, Protocol.Outcome.Failure, failure.value, done)
  }
  if (Cause.hasInterruptsOnly(exit.cause)) return done(Protocol.Outcome.Interrupted, undefined)
  const info = Protocol.errorInfo(Cause.squash(exit.cause))
  done(Protocol.Outcome.Defect, info.stack === undefined ? { ...info, stack: Cause.pretty(exit.cause) } : info)
}

export interface WorkerRuntimeOptions {
  readonly port: MessagePort
  readonly workerId: number
  readonly claims: Int32Array
  readonly region: Region
  /** where the main thread writes tasks for this worker (see `inbox.ts`); without one, they come as Run messages */
  readonly inbox: InboxReader | undefined
  /** how long the worker, out of work, keeps looking for more before it sleeps */
  readonly idleSpinMicros: number
  /** the cores the idle spin counts on (see `findWork`) */
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

  let services: Context.Context<any> = Context.empty() as Context.Context<any>
  const running = new Map<number, Running>()
  const outbox = new Outbox(port)
  const peers = new Peers({
    workerId,
    region: options.region,
    registry,
    start: (task, stolen, isCancelled, done) => {
      let finished = false
      const state = new Running(workerId, stolen.rootId, stolen.trace, { isCancelled }, (outcome, value) => {
        finished = true
        done(outcome, value)
      })
      const stoppable = execute(task, stolen.kind, stolen.encoded, state)
      return finished ? undefined : () => stop(stoppable)
    },
    leave: () => leave()
  })
  const queue = new SubtaskQueue({
    region: options.region,
    tally: (name, outcome, runMs) => outbox.tally(name, outcome, runMs),
    peers: () => peers.values(),
    run: (subtask) => runSubtask(subtask),
    publish: (subtask) => peers.publish(subtask),
    sendToMain: (subtask) => pool.sendToMain(subtask),
    wake: (peer) => peers.wake(peer),
    reclaim: (subtask) => peers.reclaim(subtask),
    findWork: () => Timeline.around(Timeline.Kind.Look, findWork),
    hasWork: () => inboxReadable() || peers.canSteal()
  })
  peers.queue = queue
  const pieces = new Pieces(workerId, options.threads, queue)
  const pool = NestedPool.make(port, options.threads, queue, pieces)

  const finish = (id: number, outcome: Protocol.Outcome, value: unknown, runMs: number) => {
    running.delete(id)
    outbox.add(id, outcome, value, runMs)
  }

  /** A task from the main thread is interrupted through its claim cell. */
  const claimCancel = (claim: number): CancelSource => ({
    isCancelled: () => Atomics.load(claims, claim) === Protocol.Claim.CancelRequested
  })

  // A worker ends each handler call by handing its encoded outcome to the task's `done`.
  const handling: HandlerCall.Handling<Running, void> = {
    success: (task, run, value) => encodeOutcome(task.success, Protocol.Outcome.Success, value, run.done),
    defect: (_task, run, thrown) => run.done(Protocol.Outcome.Defect, Protocol.errorInfo(thrown)),
    interrupted: (_task, run) => run.done(Protocol.Outcome.Interrupted, undefined),
    effect: (task, run, returned) => {
      let exited = false
      // Each Effect handler gets the pool as a service, as itself: subtasks it spawns are counted as its own.
      // When the caller traces, its span is the parent of the spans the handler makes: one trace covers both sides.
      const effect = run.trace === undefined
        ? returned
        : Effect.withParentSpan(returned, Tracer.externalSpan({ traceId: run.trace[0], spanId: run.trace[1] }))
      const withPool = Context.add(services, ComputePool, pool.forTask(run))
      const interrupt = Effect.runCallbackWith(withPool)(effect as any, {
        onExit: (exit) => {
          exited = true
          run.interrupt = undefined
          exitOutcome(task, exit, run.done)
        }
      })
      if (!exited) run.interrupt = () => interrupt()
    },
    promise: (task, run, promise) => HandlerCall.settle(task, run, promise, handling, ignore),
    aborted: (run) => run.abort?.signal.aborted === true
  }

  /**
   * Runs a handler on an encoded payload (one, or a chunk: see {@link runChunk}); its outcome goes to `state.done`,
   * once. Returns the call to stop if it is cancelled before it ends.
   */
  const execute = (task: ComputeTask.Any, kind: Protocol.Kind, encodedPayload: unknown, state: Running): Running => {
    if (kind === Protocol.Kind.Chunk) return runChunk(task, encodedPayload as ReadonlyArray<unknown>, state)
    if (kind === Protocol.Kind.Split) {
      // A piece of a map splits into two subtasks (splitting.ts), or runs whole as a chunk.
      const piece = encodedPayload as Piece
      return pieces.split(task, piece, state) ? state : runChunk(task, piece[0], state)
    }
    const decoded = Codec.decode(task.payload, encodedPayload)
    if (!decoded.ok) state.done(Protocol.Outcome.PayloadUndecodable, decoded.error)
    else HandlerCall.invoke(task, decoded.value, state, state, handling)
    return state
  }

  const runOne = (
    id: number,
    name: string,
    kind: Protocol.Kind,
    claim: number,
    encodedPayload: unknown,
    trace: readonly [string, string] | undefined
  ) => {
    // The pool took this task back before it started (interrupted, or moved to another worker): nothing to say.
    if (Atomics.compareExchange(claims, claim, id, Protocol.Claim.Started) !== id) return
    const task = registry.get(name)
    if (task === undefined) return finish(id, Protocol.Outcome.NotServed, undefined, 0)
    let finished = false
    const started = performance.now()
    const state = new Running(workerId, id, trace, claimCancel(claim), (outcome, value) => {
      finished = true
      finish(id, outcome, value, performance.now() - started)
    })
    const mark = Timeline.begin()
    const stoppable = execute(task, kind, encodedPayload, state)
    Timeline.end(Timeline.Kind.Task, mark, id)
    if (!finished) running.set(id, stoppable)
  }

  /** Runs a subtask from this worker's own queue; its outcome goes back to the queue, and from there to its parent. */
  const runSubtask = (subtask: Subtask) => {
    const { kind, task } = subtask
    const started = performance.now()
    const report = (outcome: Protocol.Outcome, value: unknown) => {
      const settlement = fromWorker(task, kind, workerId, outcome, value)
      queue.finish(subtask, outcomeOf(settlement), settlement, performance.now() - started)
    }
    // Served here or not decides, as it would on any worker the subtask could have gone to.
    if (registry.get(task.name) !== task) return report(Protocol.Outcome.NotServed, undefined)
    let finished = false
    const state = new Running(workerId, subtask.rootId, subtask.trace, subtask, (outcome, value) => {
      finished = true
      subtask.interrupt = undefined
      report(outcome, value)
    })
    const mark = Timeline.begin()
    const stoppable = execute(task, kind, subtask.encoded, state)
    Timeline.end(Timeline.Kind.Subtask, mark, subtask.rootId)
    if (!finished) subtask.interrupt = () => stop(stoppable)
  }

  /**
   * Runs the handler on each payload of a chunk, in order, and reports all successes as one array — or the first
   * item that did not succeed — to `outer.done`. Plain handlers run in one synchronous loop; a Promise or an Effect
   * makes the loop continue when it settles. Returns the call to stop while an item runs.
   */
  const runChunk = (task: ComputeTask.Any, items: ReadonlyArray<unknown>, outer: Running): Running => {
    const results: Array<unknown> = []
    let finished = false
    let looping = false
    const end = (outcome: Protocol.Outcome, value: unknown) => {
      finished = true
      outer.done(outcome, value)
    }
    const onItem: Done = (outcome, value) => {
      if (outcome !== Protocol.Outcome.Success) return end(outcome, value)
      results.push(value)
      if (!looping) loop()
    }
    const state = new Running(workerId, outer.rootId, outer.trace, outer, onItem)
    const context = state
    const loop = () => {
      looping = true
      // `finished` is set by `end`, which the handler's outcome calls back into.
      // oxlint-disable-next-line no-unmodified-loop-condition
      while (!finished && results.length < items.length) {
        const index = results.length
        if ((index & 63) === 0 && context.isInterrupted()) return end(Protocol.Outcome.Interrupted, undefined)
        const decoded = Codec.decode(task.payload, items[index])
        if (!decoded.ok) return end(Protocol.Outcome.PayloadUndecodable, `item ${index}: ${decoded.error}`)
        HandlerCall.invoke(task, decoded.value, context, state, handling)
        // The item went async: onItem resumes the loop when it settles.
        if (!finished && results.length === index) break
      }
      looping = false
      if (!finished && results.length === items.length) end(Protocol.Outcome.Success, results)
    }
    loop()
    return state
  }

  const runAndFlush: Protocol.RunEntryReader = (id, name, kind, claim, payload, trace) => {
    runOne(id, name, kind, claim, payload, trace)
    outbox.flushIfDue()
  }

  const runMessage = (message: Protocol.RunMessage) => {
    queue.busy()
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
      queue.busy()
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
    if (read) queue.maybeIdle()
    return read
  }

  const onRun = (message: Protocol.RunMessage) => {
    if (inbox === undefined) {
      runMessage(message)
      return queue.maybeIdle()
    }
    if ((message[1] & Protocol.RunFlag.Unplaced) !== 0) {
      // No place was kept for it (the inbox was full): after what can be read, it runs now.
      readInbox()
      runMessage(message)
      return queue.maybeIdle()
    }
    posted.push(message)
    // Its place may not be written yet: the idle check that follows sets the hungry flag, so that the main thread,
    // once it has written it, wakes this worker.
    if (!readInbox()) queue.maybeIdle()
  }

  /**
   * Starts work from elsewhere: the inbox first, then a peer's published subtask. A worker with nothing in hand (no
   * handler call in flight: one would wait on messages this loop keeps it from) keeps looking for `idleSpinMicros`,
   * so that work arriving meanwhile costs no wake-up message — a bounded spin, as Rayon's idle threads do. It spins
   * only while a core is free for it: one for each peer that is awake (not hungry) and one for the main thread, which
   * writes the work it waits for. On a machine with no core to spare, a spinner would take theirs.
   */
  const findWork = (): boolean => {
    if (readInbox() || peers.steal()) return true
    if (options.idleSpinMicros <= 0 || running.size > 0 || peers.runsStolen || inbox === undefined) return false
    if (peers.awake() + 2 > options.cores) return false
    const deadline = performance.now() + options.idleSpinMicros / 1_000
    for (let round = 1;; round++) {
      if (inbox.hasRecords()) return readInbox() || peers.steal()
      // The peers' slots and the clock are dearer to read than the inbox's tail: every 32 rounds.
      if ((round & 31) === 0) {
        if (peers.steal()) return true
        if (performance.now() >= deadline) return false
      }
    }
  }

  const onCancel = (id: number) => {
    const state = running.get(id)
    // The pool sends Cancel only for a task the worker has started (it takes back one not started): not running
    // means finished.
    if (state !== undefined) stop(state)
  }

  port.on("message", (message: Protocol.ToWorker) => {
    switch (message[0]) {
      case Protocol.Run:
        return onRun(message)
      case Protocol.Cancel:
        return onCancel(message[1])
      case Protocol.ChildResult:
        return pool.onChildResult(message[1], message[2])
      case Protocol.Drain:
        // The main thread claimed this worker's hunger. If what it wrote was already read (the worker found it while
        // looking for work, and the claim came late), the worker is idle again: it must say so once more, or the
        // main thread, finding it not hungry, would never wake it.
        if (!readInbox()) queue.maybeIdle()
        return
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
      if (exit.value !== undefined) services = exit.value
      services = Context.add(services, Scheduler.Scheduler, HandlerScheduler.make())
      port.postMessage([Protocol.Ready] satisfies Protocol.ReadyMessage)
      queue.maybeIdle()
    }
  })
}
