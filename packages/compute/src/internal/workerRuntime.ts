/**
 * The worker side of the pool: receives batches of tasks on the parent port, runs their handlers and sends results
 * back in batches. No fiber is started for a handler that returns a plain value; Effect handlers run as fibers
 * with the per-worker services.
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
import { ComputeError, isComputeError } from "../ComputeError.ts"
import { ComputePool } from "../ComputePool.ts"
import type * as ComputeTask from "../ComputeTask.ts"
import * as Codec from "./codec.ts"
import { Outbox } from "./outbox.ts"
import * as Protocol from "./protocol.ts"
import { type Settlement, toEffect } from "./settlement.ts"

/** A task started and not yet finished: how to stop it when the caller is interrupted. */
interface Running {
  abort?: AbortController | undefined
  interrupt?: (() => void) | undefined
}

/** The Effect a subtask's caller (a task in this worker) resumes with: its outcome decoded with the task's schemas. */
const childEffect = (task: ComputeTask.Any, kind: Protocol.Kind, settlement: Settlement): Effect.Effect<any, any> => {
  if (settlement._tag !== "Success" && settlement._tag !== "Failure") return toEffect(task, settlement)
  const schema = settlement._tag === "Success" ? task.success : task.failure
  const value = settlement._tag === "Success" ? settlement.value : settlement.error
  const decoded = settlement._tag === "Success"
    ? Codec.decodeSuccess(schema, kind, value)
    : Codec.decode(schema, value)
  if (!decoded.ok) {
    return Effect.fail(
      Codec.encodingError(task, "result", `the outcome of task "${task.name}" could not be decoded: ${decoded.error}`)
    )
  }
  return settlement._tag === "Success" ? Effect.succeed(decoded.value) : Effect.fail(decoded.value)
}

/**
 * The scheduler for handler fibers. Effect's default resumes forked fibers from `setImmediate`, after the worker has
 * read its pending messages — and a message may be a long task, which then runs first. A task that forks subtasks
 * (`ComputePool.join`, `Effect.all`) would wait behind it before even sending them. This one runs scheduled fibers
 * from a microtask, up to a budget per turn of the event loop, then falls back to `setImmediate` so messages
 * (cancellations among them) are still read.
 */
// Built once: the pool handed to every Effect handler is made per task, and a fresh Error (with its stack trace) per
// task for these rarely used fields was measured at ~6% of a worker's time in the service example.
const mainThreadOnly = (what: string) =>
  Effect.suspend(() =>
    Effect.die(new Error(`ComputePool.${what} is only available on the main thread, not inside a task`))
  )
const statsInTask = mainThreadOnly("stats")
const metricsInTask = mainThreadOnly("metrics")

const makeHandlerScheduler = (): Scheduler.Scheduler => {
  const microtaskBudget = 64
  let used = 0
  let resetPending = false
  const reset = () => {
    used = 0
    resetPending = false
  }
  return new Scheduler.MixedScheduler("async", (run) => {
    if (used < microtaskBudget) {
      used++
      if (!resetPending) {
        resetPending = true
        setImmediate(reset)
      }
      let cancelled = false
      queueMicrotask(() => {
        if (!cancelled) run()
      })
      return () => {
        cancelled = true
      }
    }
    const handle = setImmediate(run)
    return () => clearImmediate(handle)
  })
}

export interface WorkerRuntimeOptions {
  readonly port: MessagePort
  readonly workerId: number
  readonly claims: Int32Array
  /** the pool's size, as seen by tasks that use the pool themselves */
  readonly threads: number
  readonly tasks: ReadonlyArray<ComputeTask.Any>
  readonly layer: Layer.Layer<any, unknown, never> | undefined
}

export const start = (options: WorkerRuntimeOptions): void => {
  const { claims, port, workerId } = options
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

  const finish = (id: number, outcome: Protocol.Outcome, value: unknown, runMs: number) => {
    running.delete(id)
    outbox.add(id, outcome, value, runMs)
  }

  const isCancelled = (claim: number) => Atomics.load(claims, claim) === Protocol.Claim.CancelRequested

  const makeContext = (claim: number, state: Running): ComputeTask.TaskContext => ({
    workerId,
    get signal() {
      state.abort ??= new AbortController()
      if (isCancelled(claim)) state.abort.abort()
      return state.abort.signal
    },
    isInterrupted: () => isCancelled(claim) || state.abort?.signal.aborted === true
  })

  type Done = (outcome: Protocol.Outcome, value: unknown) => void

  const encodeOutcome = (schema: ComputeTask.TaskSchema, outcome: Protocol.Outcome, value: unknown, done: Done) => {
    const encoded = Codec.encode(schema, value)
    if (encoded.ok) done(outcome, encoded.value)
    else done(Protocol.Outcome.ResultUnsendable, `the handler's result does not match its schema: ${encoded.error}`)
  }

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

  /**
   * Runs the handler on one decoded payload and calls `done` exactly once with the encoded outcome: at once for a
   * plain value, later for a Promise or an Effect (whose stopping hooks are left in `state`).
   */
  const invoke = (
    id: number,
    task: ComputeTask.Any,
    payload: unknown,
    context: ComputeTask.TaskContext,
    state: Running,
    trace: readonly [string, string] | undefined,
    done: Done
  ) => {
    let returned: unknown
    try {
      returned = task.handler(payload, context)
    } catch (thrown) {
      return done(Protocol.Outcome.Defect, Protocol.errorInfo(thrown))
    }
    if (Effect.isEffect(returned)) {
      let exited = false
      // Each Effect handler gets the pool as a service, as itself: subtasks it spawns are counted as its own.
      // When the caller traces, its span is the parent of the spans the handler makes: one trace covers both sides.
      const effect = trace === undefined
        ? returned as Effect.Effect<unknown, unknown>
        : Effect.withParentSpan(
          returned as Effect.Effect<unknown, unknown>,
          Tracer.externalSpan({ traceId: trace[0], spanId: trace[1] })
        )
      const interrupt = Effect.runCallbackWith(Context.add(services, ComputePool, nestedPool(id)))(effect as any, {
        onExit: (exit) => {
          exited = true
          state.interrupt = undefined
          exitOutcome(task, exit, done)
        }
      })
      if (!exited) state.interrupt = () => interrupt()
      return
    }
    if (returned !== null && typeof returned === "object" && typeof (returned as any).then === "function") {
      ;(returned as PromiseLike<unknown>).then(
        (value) =>
          state.abort?.signal.aborted
            ? done(Protocol.Outcome.Interrupted, undefined)
            : encodeOutcome(task.success, Protocol.Outcome.Success, value, done),
        (thrown) =>
          done(
            state.abort?.signal.aborted ? Protocol.Outcome.Interrupted : Protocol.Outcome.Defect,
            state.abort?.signal.aborted ? undefined : Protocol.errorInfo(thrown)
          )
      )
      return
    }
    encodeOutcome(task.success, Protocol.Outcome.Success, returned, done)
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
    if (kind === Protocol.Kind.Chunk) return runChunk(id, claim, task, encodedPayload as ReadonlyArray<unknown>, trace)
    const decoded = Codec.decode(task.payload, encodedPayload)
    if (!decoded.ok) return finish(id, Protocol.Outcome.PayloadUndecodable, decoded.error, 0)
    const state: Running = {}
    let finished = false
    const started = performance.now()
    invoke(id, task, decoded.value, makeContext(claim, state), state, trace, (outcome, value) => {
      finished = true
      finish(id, outcome, value, performance.now() - started)
    })
    if (!finished) running.set(id, state)
  }

  /**
   * Runs the handler on each payload of a chunk, in order, and reports all successes as one array — or the first
   * item that did not succeed. Plain handlers run in one synchronous loop; a Promise or an Effect makes the loop
   * continue when it settles.
   */
  const runChunk = (
    id: number,
    claim: number,
    task: ComputeTask.Any,
    items: ReadonlyArray<unknown>,
    trace: readonly [string, string] | undefined
  ) => {
    const state: Running = {}
    const context = makeContext(claim, state)
    const results: Array<unknown> = []
    let finished = false
    let looping = false
    const started = performance.now()
    const end = (outcome: Protocol.Outcome, value: unknown) => {
      finished = true
      finish(id, outcome, value, performance.now() - started)
    }
    const onItem: Done = (outcome, value) => {
      if (outcome !== Protocol.Outcome.Success) return end(outcome, value)
      results.push(value)
      if (!looping) loop()
    }
    const loop = () => {
      looping = true
      // `finished` is set by `end`, which the handler's outcome calls back into.
      // oxlint-disable-next-line no-unmodified-loop-condition
      while (!finished && results.length < items.length) {
        const index = results.length
        if ((index & 63) === 0 && context.isInterrupted()) return end(Protocol.Outcome.Interrupted, undefined)
        const decoded = Codec.decode(task.payload, items[index])
        if (!decoded.ok) return end(Protocol.Outcome.PayloadUndecodable, `item ${index}: ${decoded.error}`)
        invoke(id, task, decoded.value, context, state, trace, onItem)
        if (!finished && results.length === index) {
          // The item went async: onItem resumes the loop when it settles.
          looping = false
          running.set(id, state)
          return
        }
      }
      looping = false
      if (!finished) end(Protocol.Outcome.Success, results)
    }
    loop()
  }

  // ---- the pool, as seen by tasks running here: subtasks go to the main thread's scheduler like any task

  const children = new Map<number, (settlement: Settlement) => void>()
  let nextRequest = 1

  const spawnChild = (parentId: number, task: ComputeTask.Any, kind: Protocol.Kind, payload: unknown) =>
    Effect.callback<any, any>((resume) => {
      const encoded = Codec.encodePayload(task.payload, kind, payload)
      if (!encoded.ok) {
        return resume(Effect.fail(
          Codec.encodingError(
            task,
            "payload",
            `the payload of task "${task.name}" could not be encoded: ${encoded.error}`
          )
        ))
      }
      const requestId = nextRequest++
      let settled = false
      children.set(requestId, (settlement) => {
        settled = true
        resume(childEffect(task, kind, settlement))
      })
      try {
        port.postMessage(
          [Protocol.Spawn, requestId, parentId, task.name, kind, encoded.value] satisfies Protocol.SpawnMessage
        )
      } catch (cause) {
        children.delete(requestId)
        return resume(Effect.fail(Codec.encodingError(
          task,
          "payload",
          `the payload of task "${task.name}" could not be sent: ${Protocol.errorInfo(cause).message}`
        )))
      }
      // Interrupted: ask the pool to stop the subtask, and wait until it has. (Resuming with the subtask's own
      // interruption lands here too, after it has ended: then there is nothing to stop or wait for.)
      return Effect.callback<void>((stopped) => {
        if (settled) return stopped(Effect.void)
        children.set(requestId, () => stopped(Effect.void))
        port.postMessage([Protocol.CancelChild, requestId] satisfies Protocol.CancelChildMessage)
      })
    })

  const nestedPool = (parentId: number) =>
    ComputePool.of({
      threads: options.threads,
      execute: (task, payload) => spawnChild(parentId, task, Protocol.Kind.Single, payload),
      executeChunk: (task, payloads) =>
        payloads.length === 0 ? Effect.succeed([]) : spawnChild(parentId, task, Protocol.Kind.Chunk, payloads),
      stats: statsInTask,
      metrics: metricsInTask
    })

  const onChildResult = (requestId: number, settlement: Settlement) => {
    const resume = children.get(requestId)
    if (resume === undefined) return
    children.delete(requestId)
    resume(settlement)
  }

  const onRun = (message: Protocol.RunMessage) => {
    outbox.beginRun()
    Protocol.forEachRunEntry(message, (entry) => {
      runOne(entry.id, entry.name, entry.kind, entry.claim, entry.payload, entry.trace)
      outbox.flushIfDue()
    })
    outbox.endRun(message[1] === 1)
  }

  const onCancel = (id: number) => {
    const state = running.get(id)
    // The pool only cancels tasks it has sent, and their Run message came first: not running means finished.
    if (state === undefined) return
    if (state.interrupt) state.interrupt()
    else {
      state.abort ??= new AbortController()
      state.abort.abort()
    }
  }

  port.on("message", (message: Protocol.ToWorker) => {
    switch (message[0]) {
      case Protocol.Run:
        return onRun(message)
      case Protocol.Cancel:
        return onCancel(message[1])
      case Protocol.ChildResult:
        return onChildResult(message[1], message[2])
    }
  })

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
      services = Context.add(services, Scheduler.Scheduler, makeHandlerScheduler())
      port.postMessage([Protocol.Ready] satisfies Protocol.ReadyMessage)
    }
  })
}
