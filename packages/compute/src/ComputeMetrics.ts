/**
 * The pool's Effect metrics, and the snapshot type of `ComputePool.metrics`.
 *
 * Every series carries a `pool` attribute (the pool's `name`), so several pools in one app keep separate series that
 * add up; pools that share a name share their series. Counters also carry a `task` attribute (and `outcome` for
 * completions), so a Prometheus or OTLP exporter shows them per task. Queue wait and run time are separate
 * histograms (the Rust runtime this library ports mixed them). Every submitted task is counted once in
 * `compute_tasks_submitted_total` and once, when it ends, in `compute_tasks_completed_total` under exactly one
 * outcome, whatever path it took.
 *
 * The pool keeps these figures in plain memory on its hot path and registers each series with the metric registry
 * of the context it was built in (`Metric.registerUnsafe`): a snapshot or an exporter reads them when it asks, and
 * counting a task costs a few additions, not a registry update.
 *
 * @since 0.1.0
 * @module
 */
import * as Metric from "effect/Metric"

/**
 * Histogram boundaries in seconds: from 1 µs to about 100 s, 25% apart — the range of queue waits and run times.
 *
 * @category metrics
 * @since 0.1.0
 */
export const durationBoundaries: ReadonlyArray<number> = Metric.exponentialBoundaries({
  start: 0.000_001,
  factor: 1.25,
  count: 84
})

/**
 * Tasks submitted, by `task`.
 *
 * @category metrics
 * @since 0.1.0
 */
export const tasksSubmitted = Metric.counter("compute_tasks_submitted_total", {
  description: "Tasks submitted to the compute pool",
  incremental: true
})

/**
 * Tasks ended, by `task` and `outcome` (success, failure, defect, interrupted, crashed, rejected).
 *
 * @example
 * ```ts
 * import { Effect, Metric } from "effect"
 * import { ComputeMetrics } from "effect-compute"
 *
 * // Every series of the pool, as Effect's metric snapshot (or any exporter) sees it.
 * const completions = Effect.map(Metric.snapshot, (all) => all.filter((m) => m.id === ComputeMetrics.tasksCompleted.id))
 * ```
 *
 * @category metrics
 * @since 0.1.0
 */
export const tasksCompleted = Metric.counter("compute_tasks_completed_total", {
  description: "Tasks ended, by outcome",
  incremental: true
})

/**
 * Tasks dispatched to workers and not yet ended.
 *
 * @category metrics
 * @since 0.1.0
 */
export const tasksActive = Metric.gauge("compute_tasks_active", { description: "Tasks running on workers" })

/**
 * Tasks waiting on the main thread (queued, and callers suspended on a full queue).
 *
 * @category metrics
 * @since 0.1.0
 */
export const queueDepth = Metric.gauge("compute_queue_depth", { description: "Tasks waiting for a worker" })

/**
 * Workers alive.
 *
 * @category metrics
 * @since 0.1.0
 */
export const liveWorkers = Metric.gauge("compute_live_workers", { description: "Workers alive" })

/**
 * Seconds from submission to dispatch to a worker, by `task`.
 *
 * @category metrics
 * @since 0.1.0
 */
export const queueWait = Metric.histogram("compute_queue_wait_seconds", {
  description: "Time tasks waited for a worker",
  boundaries: durationBoundaries
})

/**
 * Seconds from submission to dispatch, by `priority` (the lane of `ExecuteOptions.priority`): how each class of
 * callers sharing the pool is served.
 *
 * @category metrics
 * @since 0.1.0
 */
export const laneQueueWait = Metric.histogram("compute_lane_queue_wait_seconds", {
  description: "Time tasks waited for a worker, by priority",
  boundaries: durationBoundaries
})

/**
 * Seconds a handler ran in its worker, by `task`.
 *
 * @category metrics
 * @since 0.1.0
 */
export const runTime = Metric.histogram("compute_run_time_seconds", {
  description: "Time handlers ran in workers",
  boundaries: durationBoundaries
})

/**
 * Tasks that ran longer than the slow-task threshold (100 ms by default), by `task`.
 *
 * @category metrics
 * @since 0.1.0
 */
export const slowTasks = Metric.counter("compute_slow_tasks_total", {
  description: "Tasks that ran longer than the slow-task threshold",
  incremental: true
})

/**
 * Workers replaced after a crash or a kill.
 *
 * @category metrics
 * @since 0.1.0
 */
export const workerRestarts = Metric.counter("compute_worker_restarts_total", {
  description: "Workers replaced after dying",
  incremental: true
})

/**
 * Workers retired after a recycling limit (`maxTasksPerWorker`, `maxWorkerAge`, `recycleAboveHeapMb`) and replaced.
 *
 * @category metrics
 * @since 0.1.0
 */
export const workerRecycles = Metric.counter("compute_worker_recycles_total", {
  description: "Workers retired after a recycling limit and replaced",
  incremental: true
})

/**
 * Ready workers with no task: how much of the pool sits unused (an elastic pool shrinks by these).
 *
 * @category metrics
 * @since 0.1.0
 */
export const idleWorkers = Metric.gauge("compute_idle_workers", { description: "Ready workers with no task" })

/**
 * Tasks put in quarantine for crashing their workers too often, by `task` (see the pool's `quarantine` option).
 *
 * @category metrics
 * @since 0.1.0
 */
export const quarantines = Metric.counter("compute_quarantines_total", {
  description: "Tasks quarantined for crashing their workers too often",
  incremental: true
})

/**
 * Task names in quarantine now: calls to them fail at once with `TaskQuarantined`.
 *
 * @category metrics
 * @since 0.1.0
 */
export const quarantinedTasks = Metric.gauge("compute_quarantined_tasks", {
  description: "Task names in quarantine now"
})

/**
 * Event-loop utilisation of each live worker (0..1) since it started, by `worker`: how busy it has been.
 *
 * @category metrics
 * @since 0.1.0
 */
export const workerUtilization = Metric.gauge("compute_worker_utilization", {
  description: "Event-loop utilisation of each live worker since it started"
})

/**
 * Percentiles of a duration, in microseconds (bucket upper bounds, so within 25% above the true value).
 *
 * @category models
 * @since 0.1.0
 */
export interface Percentiles {
  readonly p50: number
  readonly p90: number
  readonly p99: number
  readonly max: number
}

/**
 * `ComputePool.metrics`: the Rust runtime's `ComputeMetrics` fields, plus percentiles of queue wait and run time.
 *
 * @category models
 * @since 0.1.0
 */
export interface Snapshot {
  /** tasks submitted since the pool started */
  readonly tasks_total: number
  /** tasks running on workers now */
  readonly tasks_active: number
  /** tasks waiting for a worker now */
  readonly tasks_queued: number
  readonly avg_task_duration_us: number
  readonly max_task_duration_us: number
  /** tasks that ran longer than the slow-task threshold */
  readonly slow_tasks: number
  readonly queue_wait_us: Percentiles
  readonly run_time_us: Percentiles
  readonly outcomes: {
    readonly success: number
    readonly failure: number
    readonly defect: number
    readonly interrupted: number
    readonly crashed: number
    readonly rejected: number
  }
  readonly worker_restarts: number
  /** workers retired after a recycling limit and replaced */
  readonly worker_recycles: number
  /** each live worker's event-loop utilisation since the pool started (0..1) */
  readonly worker_utilization: ReadonlyArray<number>
}
