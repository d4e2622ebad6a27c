/**
 * Keeps the pool's metrics in plain memory — a few additions per task on the hot path — and registers every series
 * of `ComputeMetrics` with the metric registry of the context the pool was built in, so Effect's metric snapshot and
 * exporters read the live figures when they ask. The same figures feed the `ComputePool.metrics` snapshot.
 */
import type * as Context from "effect/Context"
import type * as Metric from "effect/Metric"
import * as ComputeMetrics from "../../ComputeMetrics.ts"
import { type Outcome, outcomes } from "../wire/outcome.ts"
import type { DispatcherObserver } from "./dispatcher.ts"
import type { Durations } from "./poolState.ts"
import * as SharedSeries from "./sharedSeries.ts"

const boundaries = ComputeMetrics.durationBoundaries
const logStart = Math.log(boundaries[0]!)
const logFactor = Math.log(boundaries[1]! / boundaries[0]!)

/** Durations in the buckets of `ComputeMetrics.durationBoundaries`. */
class DurationHistogram {
  private readonly counts = new Float64Array(boundaries.length + 1)
  count = 0
  sum = 0
  min = Number.MAX_VALUE
  max = 0

  add(seconds: number): void {
    const index = seconds <= boundaries[0]!
      ? 0
      : Math.min(Math.ceil((Math.log(seconds) - logStart) / logFactor - 1e-9), boundaries.length)
    this.counts[index]!++
    this.count++
    this.sum += seconds
    if (seconds < this.min) this.min = seconds
    if (seconds > this.max) this.max = seconds
  }

  /** The state Effect's histogram metrics report: cumulative buckets. */
  state() {
    const buckets: Array<[number, number]> = []
    let cumulated = 0
    for (let i = 0; i < boundaries.length; i++) {
      cumulated += this.counts[i]!
      buckets.push([boundaries[i]!, cumulated])
    }
    return { buckets, count: this.count, min: this.count === 0 ? 0 : this.min, max: this.max, sum: this.sum }
  }

  /** A percentile in microseconds: the upper bound of its bucket, never above the largest value seen. */
  percentileMicros(p: number): number {
    if (this.count === 0) return 0
    const rank = Math.ceil(p * this.count)
    let seen = 0
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!
      if (seen >= rank) return Math.min(boundaries[i] ?? this.max, this.max) * 1e6
    }
    return this.max * 1e6
  }

  percentiles(): ComputeMetrics.Percentiles {
    return {
      p50: this.percentileMicros(0.5),
      p90: this.percentileMicros(0.9),
      p99: this.percentileMicros(0.99),
      max: this.max * 1e6
    }
  }
}

interface TaskFigures {
  submitted: number
  readonly completed: Record<Outcome, number>
  readonly queueWait: DurationHistogram
  readonly runTime: DurationHistogram
  slow: number
}

/** A counter series read from a figure the recorder keeps. */
const counter = (count: () => number) => () => ({ count: count(), incremental: true })

/**
 * Every series carries the pool's `name` as its `pool` attribute; pools that share a name (and a registry) feed the
 * same series, which add up.
 */
export class Recorder implements DispatcherObserver {
  private readonly byTask = new Map<string, TaskFigures>()
  private readonly quarantinesByTask = new Map<string, { value: number }>()
  /** queue waits by priority */
  private readonly lanes = new Map<number, DurationHistogram>()
  /** removes each series this pool feeds */
  private readonly leaves = new Set<() => void>()
  readonly queueWaits = new DurationHistogram()
  readonly runTimes = new DurationHistogram()
  slowTasks = 0
  restarts = 0
  recycles = 0
  idle = 0
  active = 0
  queued = 0
  live = 0
  private readonly context: Context.Context<never>
  private readonly pool: string
  private readonly slowAfterMs: number

  constructor(context: Context.Context<never>, pool: string, slowAfterMs: number) {
    this.context = context
    this.pool = pool
    this.slowAfterMs = slowAfterMs
    this.register(ComputeMetrics.tasksActive, {}, () => ({ value: this.active }), SharedSeries.sumValues)
    this.register(ComputeMetrics.queueDepth, {}, () => ({ value: this.queued }), SharedSeries.sumValues)
    this.register(ComputeMetrics.liveWorkers, {}, () => ({ value: this.live }), SharedSeries.sumValues)
    this.register(ComputeMetrics.workerRestarts, {}, counter(() => this.restarts), SharedSeries.sumCounts)
    this.register(ComputeMetrics.workerRecycles, {}, counter(() => this.recycles), SharedSeries.sumCounts)
    this.register(ComputeMetrics.idleWorkers, {}, () => ({ value: this.idle }), SharedSeries.sumValues)
    this.register(ComputeMetrics.quarantinedTasks, {}, () => ({ value: this.quarantinedNow() }), SharedSeries.sumValues)
  }

  /** Feeds a series; the function returned stops feeding it. */
  private register<State>(
    metric: Metric.Metric<any, State>,
    attributes: Metric.Metric.AttributeSet,
    get: () => State,
    combine: SharedSeries.Combine<State>
  ): () => void {
    const leave = SharedSeries.contribute(metric, this.context, { pool: this.pool, ...attributes }, get, combine)
    const forget = () => {
      this.leaves.delete(forget)
      leave()
    }
    this.leaves.add(forget)
    return forget
  }

  private figuresOf(task: string): TaskFigures {
    let figures = this.byTask.get(task)
    if (figures === undefined) {
      const created: TaskFigures = {
        submitted: 0,
        completed: { success: 0, failure: 0, defect: 0, interrupted: 0, crashed: 0, rejected: 0 },
        queueWait: new DurationHistogram(),
        runTime: new DurationHistogram(),
        slow: 0
      }
      const { sumCounts, mergeHistograms } = SharedSeries
      this.register(ComputeMetrics.tasksSubmitted, { task }, counter(() => created.submitted), sumCounts)
      for (const outcome of outcomes) {
        this.register(
          ComputeMetrics.tasksCompleted,
          { task, outcome },
          counter(() => created.completed[outcome]),
          sumCounts
        )
      }
      this.register(ComputeMetrics.queueWait, { task }, () => created.queueWait.state(), mergeHistograms)
      this.register(ComputeMetrics.runTime, { task }, () => created.runTime.state(), mergeHistograms)
      this.register(ComputeMetrics.slowTasks, { task }, counter(() => created.slow), sumCounts)
      this.byTask.set(task, created)
      figures = created
    }
    return figures
  }

  readonly submitted = (task: string): void => {
    this.figuresOf(task).submitted++
  }

  readonly dispatched = (task: string, waitMs: number, priority: number): void => {
    this.queueWaits.add(waitMs / 1_000)
    this.figuresOf(task).queueWait.add(waitMs / 1_000)
    this.laneOf(priority).add(waitMs / 1_000)
  }

  private laneOf(priority: number): DurationHistogram {
    let lane = this.lanes.get(priority)
    if (lane === undefined) {
      const created = new DurationHistogram()
      this.register(
        ComputeMetrics.laneQueueWait,
        { priority: String(priority) },
        () => created.state(),
        SharedSeries.mergeHistograms
      )
      this.lanes.set(priority, created)
      lane = created
    }
    return lane
  }

  readonly completed = (task: string, outcome: Outcome, runMs: number | undefined): void => {
    const figures = this.figuresOf(task)
    figures.completed[outcome]++
    if (runMs !== undefined) this.ran(figures, runMs)
  }

  private ran(figures: TaskFigures, runMs: number): void {
    this.runTimes.add(runMs / 1_000)
    figures.runTime.add(runMs / 1_000)
    if (runMs > this.slowAfterMs) {
      this.slowTasks++
      figures.slow++
    }
  }

  readonly subtasksEnded = (task: string, counts: ReadonlyArray<number>, runMs: Float64Array): void => {
    const figures = this.figuresOf(task)
    for (let i = 0; i < counts.length; i++) {
      figures.submitted += counts[i]!
      figures.completed[outcomes[i]!] += counts[i]!
    }
    for (let i = 0; i < runMs.length; i++) this.ran(figures, runMs[i]!)
  }

  readonly restarted = (): void => {
    this.restarts++
  }

  readonly quarantined = (task: string): void => {
    let count = this.quarantinesByTask.get(task)
    if (count === undefined) {
      count = { value: 0 }
      const counted = count
      this.register(ComputeMetrics.quarantines, { task }, counter(() => counted.value), SharedSeries.sumCounts)
      this.quarantinesByTask.set(task, count)
    }
    count.value++
  }

  /** Read by the quarantined-tasks gauge; the pool sets it once its dispatcher exists. */
  quarantinedNow: () => number = () => 0

  readonly gauges = (active: number, queued: number, live: number, idle: number): void => {
    this.active = active
    this.queued = queued
    this.live = live
    this.idle = idle
  }

  readonly recycled = (): void => {
    this.recycles++
  }

  /** A worker is ready: its utilisation becomes a gauge series until it exits. */
  readonly workerReady = (workerId: number, utilization: () => number): () => void =>
    this.register(
      ComputeMetrics.workerUtilization,
      { worker: String(workerId) },
      () => ({ value: utilization() }),
      SharedSeries.meanValues
    )

  /** The snapshot's duration fields. */
  durations(): Durations {
    return {
      avg_task_duration_us: this.runTimes.count === 0 ? 0 : (this.runTimes.sum / this.runTimes.count) * 1e6,
      max_task_duration_us: this.runTimes.max * 1e6,
      slow_tasks: this.slowTasks,
      queue_wait_us: this.queueWaits.percentiles(),
      run_time_us: this.runTimes.percentiles()
    }
  }

  /** Removes every series: the pool is gone. */
  close(): void {
    for (const forget of Array.from(this.leaves)) forget()
  }
}
