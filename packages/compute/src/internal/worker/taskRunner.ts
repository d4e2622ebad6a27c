/**
 * Running a handler in a worker: a task from the main thread (one, or a chunk of them), a subtask from this worker's
 * queue, a subtask stolen from a peer, or a piece of a split map. Handlers are called through `handlerCall.ts`; no
 * fiber is started for a handler that returns a plain value, and Effect handlers run as fibers with the per-worker
 * services and the pool as a service. Each call's encoded outcome goes to its `done`, once.
 */
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Tracer from "effect/Tracer"
import { performance } from "node:perf_hooks"
import { ComputeError, isComputeError } from "../../ComputeError.ts"
import type * as ComputeTask from "../../ComputeTask.ts"
import { ComputePool } from "../service.ts"
import type { Stolen } from "../shared/stealSlots.ts"
import * as Timeline from "../shared/timeline.ts"
import * as Codec from "../wire/codec.ts"
import { outcomeOf } from "../wire/outcome.ts"
import * as Protocol from "../wire/protocol.ts"
import { fromWorker } from "../wire/settlement.ts"
import * as HandlerCall from "./handlerCall.ts"
import type { NestedPool } from "./nestedPool.ts"
import type { Outbox } from "./outbox.ts"
import type { Piece, Pieces } from "./splitting.ts"
import type { Parent, Subtask, SubtaskQueue } from "./subtaskQueue.ts"

/** Takes a handler call's encoded outcome; called once per call. */
type Done = (outcome: Protocol.Report, value: unknown) => void

/** Whether a run was interrupted: its claim cell, its steal slot, or its parent (see {@link Parent}). */
interface CancelSource {
  readonly isCancelled: () => boolean
}

/**
 * A handler call started and not yet finished — a task from the main thread or a subtask: where its outcome goes, and
 * how to stop it. It is the handler's `TaskContext`, and the parent of the subtasks its handler spawns.
 */
export class Running implements Parent, ComputeTask.TaskContext {
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

  /**
   * Aborted by {@link stop}, when the worker hears of the interruption (a Cancel, a peer's CancelStolen, a parent
   * stopping): never before the handler's synchronous part has run. Not when first read, even if the shared flag says
   * an interruption was asked for: a signal aborted before the handler adds its listener fires no event for it, and
   * a handler that listens (`addEventListener("abort", ...)`) would wait out the grace period. Loops read the flag
   * itself, through `isInterrupted()`.
   */
  get signal(): AbortSignal {
    this.abort ??= new AbortController()
    return this.abort.signal
  }
}

/** Stops a running handler call: an Effect's fiber is interrupted, anything else has its signal aborted. */
export const stop = (state: Running) => {
  if (state.interrupt) state.interrupt()
  else {
    state.abort ??= new AbortController()
    state.abort.abort()
  }
}

// A worker's endings report through `run.done`: a settled Promise has nothing more to pass on.
const ignore = () => {}

/** Encodes a handler's value with its schema; one that does not match is reported as unsendable. */
const encodeOutcome = (schema: ComputeTask.TaskSchema, outcome: Protocol.Report, value: unknown, done: Done) => {
  const encoded = Codec.encode(schema, value)
  if (encoded.ok) done(outcome, encoded.value)
  else done(Protocol.Report.ResultUnsendable, `the handler's result does not match its schema: ${encoded.error}`)
}

/** The encoded outcome of an Effect handler's fiber. */
const exitOutcome = (task: ComputeTask.Any, exit: Exit.Exit<unknown, unknown>, done: Done) => {
  if (Exit.isSuccess(exit)) return encodeOutcome(task.success, Protocol.Report.Success, exit.value, done)
  const failure = Cause.findErrorOption(exit.cause)
  if (failure._tag === "Some") {
    // A subtask's pool error (a crash deep in a tree of tasks, say) goes up as itself, whatever the task's schema.
    if (isComputeError(failure.value)) {
      return encodeOutcome(ComputeError as any, Protocol.Report.ComputeFailure, failure.value, done)
    }
    return encodeOutcome(task.failure, Protocol.Report.Failure, failure.value, done)
  }
  if (Cause.hasInterruptsOnly(exit.cause)) return done(Protocol.Report.Interrupted, undefined)
  const info = Protocol.errorInfo(Cause.squash(exit.cause))
  done(Protocol.Report.Defect, info.stack === undefined ? { ...info, stack: Cause.pretty(exit.cause) } : info)
}

/** What running a handler needs that is built after the runner (each needs the other): set once, before any task. */
export interface RunnerWiring {
  queue: SubtaskQueue
  pool: NestedPool
  pieces: Pieces
  /** the per-worker services, once the per-worker Layer is built */
  services: Context.Context<any>
}

export interface TaskRunner {
  /** tasks from the main thread that went async, by id: what a Cancel stops */
  readonly running: ReadonlyMap<number, Running>
  /** runs a task from the main thread, unless the pool took it back before it started */
  readonly runOne: Protocol.RunEntryReader
  /** runs a subtask from this worker's own queue; its outcome goes back to the queue */
  readonly runSubtask: (subtask: Subtask) => void
  /** starts a subtask stolen from a peer; returns how to stop it, or undefined when it has already ended */
  readonly runStolen: (
    task: ComputeTask.Any,
    stolen: Stolen,
    isCancelled: () => boolean,
    done: Done
  ) => (() => void) | undefined
  /** stops a task from the main thread (the pool cancels only started tasks: not running means finished) */
  readonly cancel: (id: number) => void
}

export const makeTaskRunner = (
  workerId: number,
  claims: Int32Array,
  registry: ReadonlyMap<string, ComputeTask.Any>,
  outbox: Outbox,
  wiring: RunnerWiring
): TaskRunner => {
  /** tasks from the main thread that went async, by id: what a Cancel stops */
  const running = new Map<number, Running>()

  const endTask = (id: number, outcome: Protocol.Report, value: unknown, runMs: number) => {
    running.delete(id)
    outbox.add(id, outcome, value, runMs)
  }

  /** A task from the main thread is interrupted through its claim cell. */
  const claimCancel = (claim: number): CancelSource => ({
    isCancelled: () => Atomics.load(claims, claim) === Protocol.Claim.CancelRequested
  })

  // A worker ends each handler call by handing its encoded outcome to the task's `done`.
  const handling: HandlerCall.Handling<Running, void> = {
    success: (task, run, value) => encodeOutcome(task.success, Protocol.Report.Success, value, run.done),
    defect: (_task, run, thrown) => run.done(Protocol.Report.Defect, Protocol.errorInfo(thrown)),
    interrupted: (_task, run) => run.done(Protocol.Report.Interrupted, undefined),
    effect: (task, run, returned) => {
      let exited = false
      // Each Effect handler gets the pool as a service, as itself: subtasks it spawns are counted as its own.
      // When the caller traces, its span is the parent of the spans the handler makes: one trace covers both sides.
      const effect = run.trace === undefined
        ? returned
        : Effect.withParentSpan(returned, Tracer.externalSpan({ traceId: run.trace[0], spanId: run.trace[1] }))
      const withPool = Context.add(wiring.services, ComputePool, wiring.pool.forTask(run))
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
      return wiring.pieces.split(task, piece, state) ? state : runChunk(task, piece[0], state)
    }
    const decoded = Codec.decode(task.payload, encodedPayload)
    if (!decoded.ok) state.done(Protocol.Report.PayloadUndecodable, decoded.error)
    else HandlerCall.invoke(task, decoded.value, state, state, handling)
    return state
  }

  const runOne: Protocol.RunEntryReader = (id, name, kind, claim, encodedPayload, trace) => {
    // The pool took this task back before it started (interrupted, or moved to another worker): nothing to say.
    if (Atomics.compareExchange(claims, claim, id, Protocol.Claim.Started) !== id) return
    const task = registry.get(name)
    if (task === undefined) return endTask(id, Protocol.Report.NotServed, undefined, 0)
    let finished = false
    const started = performance.now()
    const state = new Running(workerId, id, trace, claimCancel(claim), (outcome, value) => {
      finished = true
      endTask(id, outcome, value, performance.now() - started)
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
    const end = (outcome: Protocol.Report, value: unknown) => {
      const settlement = fromWorker(task, kind, workerId, outcome, value)
      wiring.queue.end(subtask, outcomeOf(settlement), settlement, performance.now() - started)
    }
    // Served here or not decides, as it would on any worker the subtask could have gone to.
    if (registry.get(task.name) !== task) return end(Protocol.Report.NotServed, undefined)
    let finished = false
    const state = new Running(workerId, subtask.rootId, subtask.trace, subtask, (outcome, value) => {
      finished = true
      subtask.interrupt = undefined
      end(outcome, value)
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
    const end = (outcome: Protocol.Report, value: unknown) => {
      finished = true
      outer.done(outcome, value)
    }
    const onItem: Done = (outcome, value) => {
      if (outcome !== Protocol.Report.Success) return end(outcome, value)
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
        if ((index & 63) === 0 && context.isInterrupted()) return end(Protocol.Report.Interrupted, undefined)
        const decoded = Codec.decode(task.payload, items[index])
        if (!decoded.ok) return end(Protocol.Report.PayloadUndecodable, `item ${index}: ${decoded.error}`)
        HandlerCall.invoke(task, decoded.value, context, state, handling)
        // The item went async: onItem resumes the loop when it settles.
        if (!finished && results.length === index) break
      }
      looping = false
      if (!finished && results.length === items.length) end(Protocol.Report.Success, results)
    }
    loop()
    return state
  }

  /** Starts a subtask stolen from a peer; returns how to stop it, or undefined when it has already ended. */
  const runStolen = (
    task: ComputeTask.Any,
    stolen: Stolen,
    isCancelled: () => boolean,
    done: Done
  ): (() => void) | undefined => {
    let finished = false
    const state = new Running(workerId, stolen.rootId, stolen.trace, { isCancelled }, (outcome, value) => {
      finished = true
      done(outcome, value)
    })
    const stoppable = execute(task, stolen.kind, stolen.encoded, state)
    return finished ? undefined : () => stop(stoppable)
  }

  /** Stops a task from the main thread; not running means it has finished (the pool cancels only started tasks). */
  const cancel = (id: number): void => {
    const state = running.get(id)
    if (state !== undefined) stop(state)
  }

  return { running, runOne, runSubtask, runStolen, cancel }
}
