/**
 * Where a task runs — the Rust runtime's `compute_small!` / `compute_medium!` / `compute_large!` and its validation
 * feature, plus an adaptive placement that learns each task's cost.
 *
 * The Rust runtime's rule of thumb: small tasks (under 100 µs) run directly on the I/O side (here: inline, on the calling
 * thread, no dispatch); medium (100 µs – 1 ms) and large (over 1 ms) tasks go to the pool. Node has no
 * `spawn_blocking`, so medium and large both use the pool; they differ only in what validation checks.
 *
 * With `ValidatePlacement` on, each helper measures the task and counts (metric `compute_misclassified_tasks_total`,
 * by `task` and `class`) and logs the misclassified ones: a "small" task that held the calling thread over 100 µs,
 * a "large" one whose whole round trip took under 1 ms.
 *
 * @since 0.1.0
 * @module
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import { performance } from "node:perf_hooks"
import type { ComputeError } from "./ComputeError.ts"
import { ComputePool } from "./ComputePool.ts"
import type * as ComputeTask from "./ComputeTask.ts"
import * as Here from "./internal/worker/runHere.ts"

/**
 * Turns placement validation on (default off): `Effect.provideService(ComputePlacement.ValidatePlacement, true)`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { ComputePlacement } from "effect-compute"
 * import { Hash } from "./tasks.ts"
 *
 * const program = ComputePlacement.small(Hash, "a short string")
 * const checked = program.pipe(Effect.provideService(ComputePlacement.ValidatePlacement, true))
 * ```
 *
 * @category validation
 * @since 0.1.0
 */
export const ValidatePlacement = Context.Reference<boolean>("effect-compute/ValidatePlacement", {
  defaultValue: () => false
})

/**
 * Tasks whose measured cost contradicted their placement, by `task` and `class` ("small" or "large").
 *
 * @example
 * ```ts
 * import { Metric } from "effect"
 * import { ComputePlacement } from "effect-compute"
 *
 * const count = Metric.value(ComputePlacement.misclassifiedTasks)
 * ```
 *
 * @category validation
 * @since 0.1.0
 */
export const misclassifiedTasks = Metric.counter("compute_misclassified_tasks_total", {
  description: "Tasks whose measured cost contradicted their placement",
  incremental: true
})

/** The Rust runtime's thresholds, in milliseconds. */
const smallLimitMs = 0.1
const largeFloorMs = 1

const misclassified = (task: string, placement: "small" | "large", elapsedMs: number) =>
  Effect.andThen(
    Metric.update(Metric.withAttributes(misclassifiedTasks, { task, class: placement }), 1),
    Effect.logWarning(
      placement === "small"
        ? `compute placement: task "${task}" was placed small but held the calling thread for ` +
          `${Math.round(elapsedMs * 1_000)} µs (small means under 100 µs): use large or adaptive`
        : `compute placement: task "${task}" was placed large but its round trip took ` +
          `${Math.round(elapsedMs * 1_000)} µs (large means over 1 ms): use small or adaptive`
    )
  )

/** Runs a handler on the calling thread, with no encoding and no clone: what "small" means. */
const runHere = <T extends ComputeTask.Any>(
  task: T,
  payload: ComputeTask.Payload<T>
): Effect.Effect<ComputeTask.Success<T>, ComputeTask.Failure<T> | ComputeError, ComputeTask.Services<T>> =>
  Here.runHere(task, payload)

const timed = <A, E, R>(effect: Effect.Effect<A, E, R>, onDone: (elapsedMs: number) => Effect.Effect<void>) =>
  Effect.suspend(() => {
    const start = performance.now()
    return Effect.ensuring(effect, Effect.suspend(() => onDone(performance.now() - start)))
  })

/**
 * A small task (under 100 µs): runs inline on the calling thread, no dispatch, no encoding. The handler's services
 * come from the caller.
 *
 * @example
 * ```ts
 * import { ComputePlacement } from "effect-compute"
 * import { Hash } from "./tasks.ts"
 *
 * const digest = ComputePlacement.small(Hash, "a short string") // runs right here, no dispatch
 * ```
 *
 * @category placement
 * @since 0.1.0
 */
export const small = <T extends ComputeTask.Any>(
  task: T,
  payload: ComputeTask.Payload<T>
): Effect.Effect<ComputeTask.Success<T>, ComputeTask.Failure<T> | ComputeError, ComputeTask.Services<T>> =>
  Effect.gen(function*() {
    if (!(yield* ValidatePlacement)) return yield* runHere(task, payload)
    return yield* timed(
      runHere(task, payload),
      (ms) => (ms > smallLimitMs ? misclassified(task.name, "small", ms) : Effect.void)
    )
  })

/**
 * A medium task (100 µs – 1 ms): on the pool, which keeps the event loop free of it.
 *
 * @example
 * ```ts
 * import { ComputePlacement } from "effect-compute"
 * import { Parse } from "./tasks.ts"
 *
 * const parsed = ComputePlacement.medium(Parse, `{ "items": [1, 2, 3] }`)
 * ```
 *
 * @category placement
 * @since 0.1.0
 */
export const medium = <T extends ComputeTask.Any>(
  task: T,
  payload: ComputeTask.Payload<T>
): Effect.Effect<ComputeTask.Success<T>, ComputeTask.Failure<T> | ComputeError, ComputePool> =>
  ComputePool.use((pool) => pool.execute(task, payload))

/**
 * A large task (over 1 ms): on the pool.
 *
 * @example
 * ```ts
 * import { ComputePlacement } from "effect-compute"
 * import { Embed } from "./tasks.ts"
 *
 * const text = "a page of text long enough to be worth a trip to the pool ".repeat(1_000)
 * const vector = ComputePlacement.large(Embed, text)
 * ```
 *
 * @category placement
 * @since 0.1.0
 */
export const large = <T extends ComputeTask.Any>(
  task: T,
  payload: ComputeTask.Payload<T>
): Effect.Effect<ComputeTask.Success<T>, ComputeTask.Failure<T> | ComputeError, ComputePool> =>
  Effect.gen(function*() {
    const run = ComputePool.use((pool) => pool.execute(task, payload))
    if (!(yield* ValidatePlacement)) return yield* run
    return yield* timed(run, (ms) => (ms < largeFloorMs ? misclassified(task.name, "large", ms) : Effect.void))
  })

/** What adaptive placement has learnt about one task. */
interface Learnt {
  /** moving average of the inline cost, in ms, once measured */
  inlineMs: number | undefined
  /** moving average of the pool round trip, in ms */
  poolMs: number | undefined
  calls: number
}

/** By pool: a round trip measured on one pool (or on `layerInline`) says nothing about another. */
const learntByPool = new WeakMap<ComputePool["Service"], Map<string, Learnt>>()
const learntOf = (pool: ComputePool["Service"]) => {
  let learnt = learntByPool.get(pool)
  if (learnt === undefined) {
    learnt = new Map()
    learntByPool.set(pool, learnt)
  }
  return learnt
}
const weight = 0.2
const average = (previous: number | undefined, sample: number) =>
  previous === undefined ? sample : previous + weight * (sample - previous)

/**
 * Adaptive placement: learns each task's cost (a moving average of what it measured) and runs it inline when that is
 * cheaper than a trip to the pool and short enough (under 100 µs) not to hold up the event loop; otherwise on the
 * pool. A task starts on the pool; one whose round trip is short is tried inline, and every 64th call re-measures
 * the other way, so the choice follows a task whose cost changes.
 *
 * @example
 * ```ts
 * import { ComputePlacement } from "effect-compute"
 * import { Score } from "./tasks.ts"
 *
 * // Inline or on the pool, as measured: a call this cheap soon runs inline.
 * const score = ComputePlacement.adaptive(Score, { query: "worker threads", text: "a pool of worker threads" })
 * ```
 *
 * @category placement
 * @since 0.1.0
 */
export const adaptive = <T extends ComputeTask.Any>(
  task: T,
  payload: ComputeTask.Payload<T>
): Effect.Effect<
  ComputeTask.Success<T>,
  ComputeTask.Failure<T> | ComputeError,
  ComputePool | ComputeTask.Services<T>
> =>
  ComputePool.use((pool) => {
    const learnt = learntOf(pool)
    let state = learnt.get(task.name)
    if (state === undefined) {
      state = { inlineMs: undefined, poolMs: undefined, calls: 0 }
      learnt.set(task.name, state)
    }
    const known = state
    known.calls++
    const probe = known.calls % 64 === 0
    const preferInline = known.inlineMs !== undefined
      ? known.inlineMs < smallLimitMs && (known.poolMs === undefined || known.inlineMs < known.poolMs)
      : known.poolMs !== undefined && known.poolMs < 2 * smallLimitMs
    const inline = probe ? !preferInline : preferInline
    return inline
      ? timed(runHere(task, payload), (ms) => Effect.sync(() => known.inlineMs = average(known.inlineMs, ms)))
      : timed(
        pool.execute(task, payload),
        (ms) => Effect.sync(() => known.poolMs = average(known.poolMs, ms))
      )
  })

/**
 * What adaptive placement has measured of a task on the current pool (in microseconds): for tests and dashboards.
 * Each pool learns on its own.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { ComputePlacement } from "effect-compute"
 * import { Score } from "./tasks.ts"
 *
 * const report = Effect.map(ComputePlacement.adaptiveState(Score), ({ calls, inlineUs, poolUs }) => ({ calls, inlineUs, poolUs }))
 * ```
 *
 * @category placement
 * @since 0.1.0
 */
export const adaptiveState = (
  task: ComputeTask.Any
): Effect.Effect<
  { readonly inlineUs: number | undefined; readonly poolUs: number | undefined; readonly calls: number },
  never,
  ComputePool
> =>
  ComputePool.use((pool) =>
    Effect.sync(() => {
      const state = learntByPool.get(pool)?.get(task.name)
      return {
        inlineUs: state?.inlineMs === undefined ? undefined : state.inlineMs * 1_000,
        poolUs: state?.poolMs === undefined ? undefined : state.poolMs * 1_000,
        calls: state?.calls ?? 0
      }
    })
  )
