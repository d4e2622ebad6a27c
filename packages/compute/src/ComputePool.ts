/**
 * The compute pool service: run typed CPU-bound tasks on a pool of `node:worker_threads` workers, so the main
 * thread's event loop stays free for I/O.
 *
 * - {@link layer} starts the workers and stops them when the Layer's scope closes.
 * - {@link layerInline} runs the same tasks on the calling thread, for unit tests (payloads and results still go
 *   through their schemas and a structured clone, so a test catches what would not cross a thread).
 * - {@link execute} runs one task; {@link join} runs two pool calls at once; any `Effect.all(..., { concurrency })`
 *   of pool calls works too; {@link broadcast} runs one on every worker.
 *
 * Over 400 lines, as one concept: the service and the ways to build it. Most of the length is the options' docs and
 * the example each export carries; the machinery is in `internal/` (the dispatcher, the workers, the worker runtime).
 *
 * @since 0.1.0
 * @module
 */
import type * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as Worker from "effect/workers/Worker"
import { Worker as NodeWorker } from "node:worker_threads"
import * as ComputeConfig from "./ComputeConfig.ts"
import { ComputeError, InvalidOptions, WorkerStartFailed } from "./ComputeError.ts"
import type * as ComputeMetrics from "./ComputeMetrics.ts"
import type * as ComputeTask from "./ComputeTask.ts"
import type { InlineRunner } from "./internal/main/inline.ts"
import * as Options from "./internal/main/options.ts"
import * as PoolState from "./internal/main/poolState.ts"
import { type BroadcastOptions, ComputePool, type ExecuteOptions, type PoolStats } from "./internal/service.ts"
import { captureServe } from "./internal/wire/serveCapture.ts"

// The tag and its types live in a leaf module, so that a worker gets the tag without this module's machinery.
export { ComputePool } from "./internal/service.ts"
export type { BroadcastOptions, ExecuteOptions, PoolStats } from "./internal/service.ts"

/**
 * Options of {@link layer}.
 *
 * @category models
 * @since 0.1.0
 */
export interface ComputePoolOptions {
  /** The worker entry file: a module that calls `ComputeWorker.serve`, e.g. `new URL("./worker.ts", import.meta.url)`. */
  readonly entry: string | URL
  /** Worker threads. Default: half the cores, clamped to 2..16, and never more than the cores. */
  readonly threads?: number | undefined
  /**
   * Tasks sent to one worker before it answers (they run one after another there). Default 16, and 64 for a worker
   * whose tasks run under 50 µs on average (fewer wake-ups of a worker that ran dry: measured, see the README); a
   * value given here holds for every task.
   */
  readonly maxInFlightPerWorker?: number | undefined
  /**
   * How long a worker that has run out of work keeps looking for more (its inbox, its peers' steal slots) before it
   * sleeps, as Rayon's idle threads do. A task that arrives meanwhile costs the main thread no message to wake it;
   * the price is that much CPU burnt by each worker each time it runs dry. A worker spins only while a core is free
   * for it, counting one for the main thread and one for each peer awake (`os.availableParallelism()` in all): where
   * no core is spare, it sleeps rather than take the main thread's. `0` sleeps at once. Default: 50 microseconds
   * (measured: see the README).
   */
  readonly idleSpin?: Duration.Input | undefined
  /**
   * Elastic size: the pool starts with `threads` (its least size) and grows, one worker at a time, up to `maxThreads`
   * while tasks wait with every worker busy; a worker beyond `threads` that sits idle for `idleTimeout` is retired.
   * Default: `threads` (a fixed size).
   */
  readonly maxThreads?: number | undefined
  /**
   * How long a worker beyond `threads` may sit idle before an elastic pool retires it. Default 30 seconds: starting a
   * worker costs tens of milliseconds (its isolate, its imports, its per-worker Layer), so a pool that retired idle
   * workers at once (Piscina's `idleTimeout` of 0) would start and stop them between bursts a few ms apart.
   */
  readonly idleTimeout?: Duration.Input | undefined
  /**
   * Recycling: a worker that has run this many tasks is retired — it takes no new task, finishes those it holds, its
   * per-worker Layer is finalised — and a replacement is started first, so capacity never drops. For handlers whose
   * libraries leak. Default: never.
   */
  readonly maxTasksPerWorker?: number | undefined
  /** Recycling by age: a worker is retired and replaced this long after it started. Default: never. */
  readonly maxWorkerAge?: Duration.Input | undefined
  /**
   * Recycling by memory: a worker whose JS heap in use passes this many MB (checked between tasks, at most every
   * 100 ms) is retired and replaced. Unlike `resourceLimits`, nothing is killed: it leaves after its tasks. Needs
   * `Worker.getHeapStatistics` (Node >= 22.16); elsewhere it is not checked. Default: never.
   */
  readonly recycleAboveHeapMb?: number | undefined
  /** Tasks queued on the main thread beyond those in flight. Default 65,536. */
  readonly maxQueue?: number | undefined
  /** When the queue is full: suspend the caller until there is room (default), or fail with `QueueFull`. */
  readonly onQueueFull?: "suspend" | "fail" | undefined
  /** How long an interrupted task may ignore its signal before its worker is terminated. Default 1 second. */
  readonly interruptGracePeriod?: Duration.Input | undefined
  /**
   * How long a worker may take to become ready (load its entry, build its per-worker Layer) before it is terminated
   * and counted as a start failure — so an entry or Layer that never finishes fails the Layer (or, for a
   * replacement, its queued tasks after three in a row) instead of leaving callers waiting. Default 60 seconds.
   */
  readonly workerStartTimeout?: Duration.Input | undefined
  /** On shutdown, how long in-flight and queued tasks may finish before they fail with `PoolClosed`. Default 10 s. */
  readonly shutdownTimeout?: Duration.Input | undefined
  /**
   * A span per task (`compute.execute <task>`, with the task, worker, queue wait, run time and outcome), its context
   * carried into the worker so the handler's spans join the caller's trace. Default: on when a tracer other than
   * Effect's built-in one is installed where the pool is built.
   */
  readonly tracing?: boolean | undefined
  /** Keep the pool's metrics (`ComputeMetrics`, `ComputePool.metrics`). Default true; off only to measure their cost. */
  readonly metrics?: boolean | undefined
  /** A task that runs longer than this counts as slow (`compute_slow_tasks_total`, `slow_tasks`). Default 100 ms. */
  readonly slowTaskThreshold?: Duration.Input | undefined
  /**
   * How long a queued task waits to gain one priority level (see `ExecuteOptions.priority`): a task of priority 0
   * overtakes new ones of priority 10 after waiting 10 × this. Default 100 ms.
   */
  readonly priorityAging?: Duration.Input | undefined
  /**
   * Poison tasks: a task whose calls crash their worker `crashes` times `within` a window (a native crash, an
   * out-of-memory on its inputs) is quarantined `for` a cooling period — calls to it fail at once with
   * `TaskQuarantined` while other tasks run on; logged as a warning and counted in `compute_quarantines_total`. Only
   * the tasks a worker had started when it crashed count; a worker terminated by the pool (an interrupted task that
   * ignored its signal) does not. Default `{ crashes: 5, within: "1 minute", for: "1 minute" }`; `false` turns it off.
   */
  readonly quarantine?:
    | false
    | {
      readonly crashes?: number | undefined
      readonly within?: Duration.Input | undefined
      readonly for?: Duration.Input | undefined
    }
    | undefined
  /**
   * The pool's name: its workers' thread names (`${name}-${id}`) and the `pool` attribute of its metric series, so
   * that several pools in one app (a CPU pool and a parsing pool, say) keep separate series. Default "effect-compute".
   */
  readonly name?: string | undefined
  /** V8 limits of each worker; running past a heap limit crashes only that worker. */
  readonly resourceLimits?: {
    readonly maxOldGenerationSizeMb?: number | undefined
    readonly maxYoungGenerationSizeMb?: number | undefined
    readonly stackSizeMb?: number | undefined
  } | undefined
}

/**
 * The default number of threads: half the cores, clamped to 2..16 (leave the other half to the I/O side, as the
 * Rust runtime this library ports does), and never more than the machine has.
 *
 * @example
 * ```ts
 * import { ComputePool } from "effect-compute"
 *
 * ComputePool.defaultThreads(16) // 8
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const defaultThreads: (cores?: number) => number = Options.defaultThreads

/**
 * Options of {@link make}: those of {@link layer} but the entry and the resource limits, which are the spawner's to set.
 *
 * @category models
 * @since 0.1.0
 */
export type MakeOptions = Omit<ComputePoolOptions, "entry" | "resourceLimits">

/**
 * Builds a pool in the current scope from a `Worker.Spawner` (effect's worker-spawning service) that returns a
 * `node:worker_threads` Worker for the entry. Most programs use {@link layer}, which provides the spawner.
 *
 * @example
 * ```ts
 * import { NodeWorker } from "@effect/platform-node"
 * import { Layer } from "effect"
 * import { ComputePool } from "effect-compute"
 * import { Worker } from "node:worker_threads"
 *
 * // A custom spawner: workers with extra execArgv.
 * const Pool = Layer.effect(ComputePool.ComputePool, ComputePool.make({ threads: 4 })).pipe(
 *   Layer.provide(NodeWorker.layer(() => new Worker(new URL("./worker.ts", import.meta.url), { execArgv: ["--no-warnings"] })))
 * )
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (
  options: MakeOptions
): Effect.Effect<ComputePool["Service"], ComputeError, Scope.Scope | Worker.Spawner> =>
  // The main thread's scheduler is loaded here, when a pool is built, not with this module: a worker, which imports
  // this module through the package's index and its tasks, never loads it.
  Effect.flatMap(Effect.promise(() => import("./internal/main/pool.ts")), (pool) => pool.makePool(options))

/**
 * The pool as a Layer: starts the workers when built, drains and terminates them when its scope closes. The Layer
 * fails with `ComputeError` (`WorkerStartFailed`) when a worker's entry or per-worker Layer fails, and with
 * `InvalidOptions` for a bad option.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { ComputePool } from "effect-compute"
 * import { Fib } from "./tasks.ts"
 *
 * const Pool = ComputePool.layer({ entry: new URL("./worker.ts", import.meta.url), threads: 4 })
 *
 * const program = ComputePool.execute(Fib, 30).pipe(Effect.provide(Pool))
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (options: ComputePoolOptions): Layer.Layer<ComputePool, ComputeError> => {
  const ignoring = runtimeWithoutLimits()
  if (options.resourceLimits !== undefined && ignoring !== undefined) {
    return Layer.effect(ComputePool, Effect.fail(Options.invalid("resourceLimits", "set", ignoring)))
  }
  const prefix = options.name ?? Options.defaultPoolName
  const spawner = Worker.layerSpawner((id) =>
    new NodeWorker(options.entry, {
      name: `${prefix}-${id}`,
      ...(options.resourceLimits === undefined ? {} : { resourceLimits: { ...options.resourceLimits } })
    })
  )
  return Layer.effect(ComputePool, make(options)).pipe(Layer.provide(spawner))
}

/**
 * Bun and Deno implement `worker_threads` but not its resource limits (measured: Bun ignores them; on Deno a task at
 * the heap limit never answers, and a small stack aborts the whole process), so there they are refused, not passed on.
 */
const runtimeWithoutLimits = (): string | undefined => {
  const versions = process.versions as Record<string, string | undefined>
  const runtime = versions["bun"] !== undefined
    ? `Bun ${versions["bun"]}`
    : versions["deno"] !== undefined
    ? `Deno ${versions["deno"]}`
    : undefined
  return runtime === undefined
    ? undefined
    : `${runtime} does not enforce worker resourceLimits (Bun ignores them; on Deno a heap limit leaves the task ` +
      `unanswered and a small stack aborts the process): leave them out there, and bound tasks with Effect.timeout`
}

/**
 * The same service running every task on the calling thread, for unit tests and for code that must run without
 * workers. Each payload and result is still encoded with its Schema, structured-cloned and decoded, so whatever would
 * not cross a thread fails here too. The per-worker Layer is built once, for the pool.
 *
 * @example
 * ```ts
 * import { ComputePool } from "effect-compute"
 * import { Fib } from "./tasks.ts"
 *
 * const TestPool = ComputePool.layerInline({ tasks: [Fib] })
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layerInline = <const Tasks extends ReadonlyArray<ComputeTask.Any>>(options: {
  readonly tasks: Tasks
  readonly layer?: Layer.Layer<Exclude<ComputeTask.Services<Tasks[number]>, ComputePool>, unknown, never> | undefined
}): Layer.Layer<ComputePool, ComputeError> =>
  Layer.effect(
    ComputePool,
    Effect.gen(function*() {
      const services: Context.Context<any> = options.layer === undefined
        ? (Context.empty() as Context.Context<any>)
        : yield* Layer.build(options.layer).pipe(
          Effect.mapError((cause) =>
            new ComputeError({
              reason: new WorkerStartFailed({
                workerId: -1,
                message: `the per-worker Layer failed to build: ${String(cause)}`,
                cause
              })
            })
          )
        )
      // Loaded when an inline pool is built, as the worker pool's machinery is (see `make`).
      const inline = yield* Effect.promise(() => import("./internal/main/inline.ts"))
      // Handlers that use the pool themselves get this same inline pool.
      let runner: InlineRunner | undefined = undefined
      const pool: ComputePool["Service"] = ComputePool.of({
        threads: 0,
        execute: (task, payload) => runner!.execute(task, payload) as any,
        executeChunk: (task, payloads) => Effect.forEach(payloads, (payload) => runner!.execute(task, payload)) as any,
        // One "worker": the calling thread.
        broadcast: (task, payload) => Effect.map(runner!.execute(task, payload), (result) => [result]) as any,
        stats: Effect.sync(() => PoolState.toStats(state())),
        metrics: Effect.sync(() => PoolState.toSnapshot(state(), PoolState.noDurations, []))
      })
      const state = (): PoolState.PoolState => ({
        threads: 0,
        liveWorkers: 0,
        activeTasks: runner!.counts.active,
        queuedTasks: 0,
        workerRestarts: 0,
        workerRecycles: 0,
        counts: runner!.counts.outcomes
      })
      runner = inline.make(options.tasks, Context.add(services, ComputePool, pool))
      return pool
    })
  )

/**
 * The pool from a `ComputeConfig` (see that module: presets, TOML): checked, with the Rust runtime's oversubscription
 * warning logged when pool threads + the main thread + `ioThreads` exceed 1.5 × the cores. With `threads: 0` the pool
 * is disabled: the entry's tasks (and per-worker Layer) run inline on the calling thread, logged at info.
 *
 * @example
 * ```ts
 * import { ComputeConfig, ComputePool } from "effect-compute"
 *
 * const entry = new URL("./worker.ts", import.meta.url)
 * const Mixed = ComputePool.layerFromConfig(entry, ComputeConfig.presets.mixed)
 * const FromFile = ComputePool.layerFromConfig(entry, ComputeConfig.loadToml("./runtime.toml"))
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layerFromConfig = (
  entry: string | URL,
  config: ComputeConfig.ComputeConfig | Effect.Effect<ComputeConfig.ComputeConfig, ComputeError>
): Layer.Layer<ComputePool, ComputeError> =>
  Layer.unwrap(Effect.gen(function*() {
    const resolved = Effect.isEffect(config) ? yield* config : config
    const options = yield* ComputeConfig.toPoolOptions(entry, resolved)
    const warning = ComputeConfig.oversubscription(options.threads, options.ioThreads)
    if (warning !== undefined) yield* Effect.logWarning(warning)
    if (options.threads === 0) {
      yield* Effect.logInfo("compute pool disabled (compute_threads = 0): tasks run inline on the calling thread")
      const served = yield* captureServe(entry)
      return layerInline({ tasks: served.tasks, layer: served.layer as any })
    }
    return layer(options)
  }))

/**
 * The pool configured through Effect `Config` — environment variables `COMPUTE_THREADS`, `COMPUTE_STACK_SIZE`... by
 * default (see `ComputeConfig.config`), or any `ConfigProvider`.
 *
 * @example
 * ```ts
 * import { ComputePool } from "effect-compute"
 *
 * // COMPUTE_THREADS=4 COMPUTE_STACK_SIZE=4MB node main.ts
 * const Pool = ComputePool.layerConfig(new URL("./worker.ts", import.meta.url))
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layerConfig = (
  entry: string | URL,
  config: Config.Config<ComputeConfig.ComputeConfig> = ComputeConfig.config
): Layer.Layer<ComputePool, ComputeError> =>
  layerFromConfig(
    entry,
    Effect.mapError(
      config,
      (error) => new ComputeError({ reason: new InvalidOptions({ key: "config", message: error.message }) })
    )
  )

/**
 * Runs a task on the pool and returns its result. Interrupting the caller interrupts the task: removed if queued,
 * signalled if running, and its worker terminated and replaced if it ignores the signal for the grace period.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { ComputePool } from "effect-compute"
 * import { Fib } from "./tasks.ts"
 *
 * const program = Effect.gen(function*() {
 *   const one = yield* ComputePool.execute(Fib, 30)
 *   const many = yield* Effect.all([25, 26, 27].map((n) => ComputePool.execute(Fib, n)), { concurrency: "unbounded" })
 *   return [one, ...many]
 * })
 * ```
 *
 * @category operations
 * @since 0.1.0
 */
export const execute = <T extends ComputeTask.Any>(
  task: T,
  payload: ComputeTask.Payload<T>,
  options?: ExecuteOptions
): Effect.Effect<ComputeTask.Success<T>, ComputeTask.Failure<T> | ComputeError, ComputePool> =>
  ComputePool.use((pool) => pool.execute(task, payload, options))

/**
 * Runs two effects (usually pool calls) at once and returns both results; the first failure interrupts the other.
 * The Rust runtime's `join(f1, f2)`.
 *
 * @example
 * ```ts
 * import { ComputePool } from "effect-compute"
 * import { Add, Mul } from "./tasks.ts"
 *
 * const both = ComputePool.join(ComputePool.execute(Add, [2, 2]), ComputePool.execute(Mul, [3, 3]))
 * // Effect<[number, number], ComputeError, ComputePool>
 * ```
 *
 * @category operations
 * @since 0.1.0
 */
export const join = <A, E1, R1, B, E2, R2>(
  left: Effect.Effect<A, E1, R1>,
  right: Effect.Effect<B, E2, R2>
): Effect.Effect<[A, B], E1 | E2, R1 | R2> => Effect.all([left, right], { concurrency: 2 })

/**
 * Runs a task once on every live worker and returns each worker's result, in worker order: reload a model, clear a
 * cache, warm a JIT. With `keep: true` it is also run on every worker that starts later (a replacement, a recycled
 * worker's successor, a worker an elastic pool adds) before that worker takes other tasks, so a replaced worker comes
 * back in the same state. It fails with the first worker's failure; a worker that dies meanwhile fails it with
 * `WorkerCrashed`. On `layerInline` it runs once (one "worker": the calling thread); inside a task, and on a
 * cluster client (`ComputeCluster`), it is not available.
 *
 * @example
 * ```ts
 * import { ComputePool } from "effect-compute"
 * import { LoadModel } from "./tasks.ts"
 *
 * // Every worker loads version 7 now, and every replacement loads it before its first task.
 * const loaded = ComputePool.broadcast(LoadModel, { version: 7 }, { keep: true })
 * ```
 *
 * @category operations
 * @since 0.1.0
 */
export const broadcast = <T extends ComputeTask.Any>(
  task: T,
  payload: ComputeTask.Payload<T>,
  options?: BroadcastOptions
): Effect.Effect<Array<ComputeTask.Success<T>>, ComputeTask.Failure<T> | ComputeError, ComputePool> =>
  ComputePool.use((pool) => pool.broadcast(task, payload, options))

/**
 * The pool's state and outcome counts.
 *
 * @example
 * ```ts
 * import { Console, Effect } from "effect"
 * import { ComputePool } from "effect-compute"
 *
 * const report = Effect.flatMap(ComputePool.stats, (s) => Console.log(`${s.activeTasks} running, ${s.queuedTasks} queued`))
 * ```
 *
 * @category operations
 * @since 0.1.0
 */
export const stats: Effect.Effect<PoolStats, never, ComputePool> = ComputePool.use((pool) => pool.stats)

/**
 * The pool's metrics snapshot: the Rust runtime's fields (`tasks_total`, `tasks_active`, average and maximum task
 * duration in microseconds, `slow_tasks`) plus queue-wait and run-time percentiles and outcome counts. The same
 * figures are Effect metrics (see `ComputeMetrics`) for exporters.
 *
 * @example
 * ```ts
 * import { Console, Effect } from "effect"
 * import { ComputePool } from "effect-compute"
 *
 * const report = Effect.flatMap(ComputePool.metrics, (m) =>
 *   Console.log(`${m.tasks_active} active, avg ${(m.avg_task_duration_us / 1000).toFixed(2)} ms, ${m.slow_tasks} slow`))
 * ```
 *
 * @category operations
 * @since 0.1.0
 */
export const metrics: Effect.Effect<ComputeMetrics.Snapshot, never, ComputePool> = ComputePool.use((pool) =>
  pool.metrics
)
