/**
 * A pool of worker threads, built: the options resolved, the dispatcher and its recorder made, the workers started
 * (and stopped when the scope closes), and the service that submits jobs to the dispatcher. `ComputePool.make` loads
 * this module when a pool is built, so that a worker, which imports `ComputePool.ts`, never loads the scheduler.
 */
import * as Effect from "effect/Effect"
import * as Tracer from "effect/Tracer"
import * as Worker from "effect/workers/Worker"
import { availableParallelism } from "node:os"
import { Worker as NodeWorker } from "node:worker_threads"
import { ComputeError, WorkerStartFailed } from "../../ComputeError.ts"
import type { MakeOptions } from "../../ComputePool.ts"
import type * as ComputeTask from "../../ComputeTask.ts"
import { ComputePool, type ExecuteOptions } from "../service.ts"
import * as Protocol from "../wire/protocol.ts"
import { type Settlement, toEffect } from "../wire/settlement.ts"
import { Dispatcher } from "./dispatcher.ts"
import type { Job } from "./job.ts"
import * as Options from "./options.ts"
import * as PoolState from "./poolState.ts"
import { Recorder } from "./recorder.ts"
import * as Thread from "./thread.ts"
import type { StartFailure } from "./workers.ts"

const resolveOptions = Effect.fnUntraced(function*(options: MakeOptions) {
  // Each option is checked, and defaulted, by its entry in the options table (internal/main/options.ts).
  const checked = yield* Options.resolvePoolOptions(options)
  const maxThreads = checked.maxThreads ?? checked.threads
  if (maxThreads < checked.threads) {
    return yield* Options.invalid("maxThreads", maxThreads, `it must be at least threads (${checked.threads})`)
  }
  // The dispatcher takes the checked options by their names; these are its own names and units.
  return {
    ...checked,
    maxThreads,
    // Where the user set the limit, it holds for every task; by default, workers whose tasks are tiny hold more.
    maxInFlightForTinyTasks: options.maxInFlightPerWorker ?? 64,
    idleSpinMicros: 1_000 * checked.idleSpin,
    cores: availableParallelism(),
    idleTimeoutMs: checked.idleTimeout,
    startTimeoutMs: checked.workerStartTimeout,
    recycle: {
      maxTasks: checked.maxTasksPerWorker,
      maxAgeMs: checked.maxWorkerAge,
      maxHeapMb: checked.recycleAboveHeapMb
    },
    interruptGraceMs: checked.interruptGracePeriod,
    shutdownTimeoutMs: checked.shutdownTimeout,
    slowTaskMs: checked.slowTaskThreshold,
    priorityAgingMs: Math.max(1, checked.priorityAging)
  }
})

const annotate = (span: Tracer.Span, settlement: Settlement, job: Job | undefined) => {
  span.attribute("compute.outcome", settlement._tag)
  if (job === undefined) return
  if (job.worker !== undefined) span.attribute("compute.worker_id", job.worker.id)
  span.attribute("compute.queue_wait_us", Math.round(job.waitMs * 1_000))
  if (job.runMs !== undefined) span.attribute("compute.run_time_us", Math.round(job.runMs * 1_000))
}

export const makePool = Effect.fnUntraced(function*(options: MakeOptions) {
  const resolved = yield* resolveOptions(options)
  const spawn = yield* Worker.Spawner
  // With metrics off nothing is recorded or registered; the snapshot then reports zero durations.
  const context = yield* Effect.context<never>()
  const recorder = options.metrics === false
    ? undefined
    : new Recorder(context, options.name ?? Options.defaultPoolName, resolved.slowTaskMs)
  const core = new Dispatcher(
    resolved,
    (id) => {
      const thread = spawn(id)
      if (!(thread instanceof NodeWorker)) {
        throw new TypeError("the Worker.Spawner given to ComputePool must return node:worker_threads Workers")
      }
      return Thread.fromNodeWorker(thread)
    },
    Thread.nodeClock,
    recorder,
    (message) => Effect.runForkWith(context)(Effect.logWarning(message))
  )
  if (recorder !== undefined) recorder.quarantinedNow = () => core.quarantined
  yield* Effect.acquireRelease(
    Effect.tryPromise({
      try: () => core.start(),
      catch: (failure) => {
        const { cause, message, workerId } = failure as StartFailure
        return new ComputeError({ reason: new WorkerStartFailed({ workerId, message, cause }) })
      }
    }).pipe(
      Effect.onExit((exit) => exit._tag === "Success" ? Effect.void : Effect.promise(() => core.close()))
    ),
    () =>
      Effect.promise(async () => {
        await core.drain(resolved.shutdownTimeoutMs)
        await core.close()
      })
  )
  yield* Effect.addFinalizer(() => Effect.sync(() => recorder?.close()))

  // A span per task only when a tracer other than Effect's built-in one was installed where the pool was built (or
  // `tracing: true`): with tracing off, the dispatch path makes no span at all.
  const tracing = options.tracing ?? (yield* Effect.tracer) !== Tracer.nativeTracer

  /**
   * Submits one job — to the queue, or to one given worker (`workerId`, a part of a broadcast); with a span, the job
   * carries its context and the span gets the job's facts when it ends.
   */
  const run = (
    task: ComputeTask.Any,
    kind: Protocol.Kind,
    payload: unknown,
    options: ExecuteOptions | undefined,
    span: Tracer.Span | undefined,
    workerId?: number
  ): Effect.Effect<any, any> =>
    Effect.callback((resume) => {
      let job: Job | undefined = undefined
      const settle = (settlement: Settlement) => {
        if (span !== undefined) annotate(span, settlement, job)
        resume(toEffect(task, settlement))
      }
      // The caller's options pass through as they are: nothing is allocated for a plain call.
      const extras = span === undefined ? options : { ...options, trace: [span.traceId, span.spanId] as const }
      job = workerId === undefined
        ? core.submit(task, kind, payload, settle, extras)
        : core.submitTo(workerId, task, payload, settle, extras)
      if (job === undefined) return
      const submitted = job
      return Effect.callback<void>((stopped) => {
        core.cancel(submitted, () => stopped(Effect.void))
      })
    })

  const state = (): PoolState.PoolState => {
    const { active, counts } = core.tally()
    return {
      threads: resolved.threads,
      liveWorkers: core.liveWorkers,
      activeTasks: active,
      queuedTasks: core.queueDepth,
      workerRestarts: core.restarts,
      workerRecycles: core.recycles,
      counts
    }
  }

  const submit = (
    task: ComputeTask.Any,
    kind: Protocol.Kind,
    payload: unknown,
    options?: ExecuteOptions,
    workerId?: number
  ) =>
    tracing
      ? Effect.useSpan(`compute.execute ${task.name}`, { kind: "client" }, (span) => {
        span.attribute("compute.task", task.name)
        return run(task, kind, payload, options, span, workerId)
      })
      : run(task, kind, payload, options, undefined, workerId)

  return ComputePool.of({
    threads: resolved.threads,
    execute: (task, payload, options) => submit(task, Protocol.Kind.Single, payload, options),
    executeChunk: (task, payloads) =>
      payloads.length === 0 ? Effect.succeed([]) : submit(task, Protocol.Kind.Chunk, payloads),
    broadcast: (task, payload, options) =>
      Effect.suspend(() => {
        if (options?.keep === true) core.keep(task, payload)
        return Effect.forEach(
          core.openWorkers(),
          (workerId) => submit(task, Protocol.Kind.Single, payload, undefined, workerId),
          { concurrency: "unbounded" }
        )
      }),
    stats: Effect.sync(() => PoolState.toStats(state())),
    metrics: Effect.sync(() =>
      PoolState.toSnapshot(state(), recorder?.durations() ?? PoolState.noDurations, core.utilization())
    )
  })
})
