/**
 * Keeps the pool's metrics: updates the Effect metrics of `ComputeMetrics` as tasks move, and the figures behind the
 * `ComputePool.metrics` snapshot. Every call is synchronous: metric handles per task name are made once and updated
 * with `updateUnsafe` in the context the pool was built in (so the caller's metric registry gets them).
 */
import type * as Context from "effect/Context"
import * as Metric from "effect/Metric"
import * as ComputeMetrics from "../ComputeMetrics.ts"
import type { OutcomeName, PoolObserver } from "./pool.ts"

/** Durations in microseconds, in buckets 25% apart from 1 µs up: enough for percentiles, in constant memory. */
class DurationHistogram {
  private static readonly factor = 1.25
  private readonly buckets = new Float64Array(120)
  count = 0
  sum = 0
  max = 0

  add(micros: number): void {
    const index = micros <= 1 ? 0 : Math.min(Math.ceil(Math.log(micros) / Math.log(DurationHistogram.factor)), 119)
    this.buckets[index]!++
    this.count++
    this.sum += micros
    if (micros > this.max) this.max = micros
  }

  percentile(p: number): number {
    if (this.count === 0) return 0
    const rank = Math.ceil(p * this.count)
    let seen = 0
    for (let i = 0; i < this.buckets.length; i++) {
      seen += this.buckets[i]!
      if (seen >= rank) return Math.min(DurationHistogram.factor ** i, this.max)
    }
    return this.max
  }

  percentiles(): ComputeMetrics.Percentiles {
    return { p50: this.percentile(0.5), p90: this.percentile(0.9), p99: this.percentile(0.99), max: this.max }
  }
}

interface TaskMetrics {
  readonly submitted: Metric.Metric<number, unknown>
  readonly completed: Record<OutcomeName, Metric.Metric<number, unknown>>
  readonly queueWait: Metric.Metric<number, unknown>
  readonly runTime: Metric.Metric<number, unknown>
  readonly slow: Metric.Metric<number, unknown>
}

const outcomes: ReadonlyArray<OutcomeName> = ["success", "failure", "defect", "interrupted", "crashed", "rejected"]

export class Recorder implements PoolObserver {
  private readonly byTask = new Map<string, TaskMetrics>()
  readonly queueWaits = new DurationHistogram()
  readonly runTimes = new DurationHistogram()
  slowTasks = 0
  private readonly context: Context.Context<never>
  private readonly slowAfterMs: number

  constructor(context: Context.Context<never>, slowAfterMs: number) {
    this.context = context
    this.slowAfterMs = slowAfterMs
  }

  private metricsOf(task: string): TaskMetrics {
    let metrics = this.byTask.get(task)
    if (metrics === undefined) {
      const completed = {} as Record<OutcomeName, Metric.Metric<number, unknown>>
      for (const outcome of outcomes) {
        completed[outcome] = Metric.withAttributes(ComputeMetrics.tasksCompleted, { task, outcome })
      }
      metrics = {
        submitted: Metric.withAttributes(ComputeMetrics.tasksSubmitted, { task }),
        completed,
        queueWait: Metric.withAttributes(ComputeMetrics.queueWait, { task }),
        runTime: Metric.withAttributes(ComputeMetrics.runTime, { task }),
        slow: Metric.withAttributes(ComputeMetrics.slowTasks, { task })
      }
      this.byTask.set(task, metrics)
    }
    return metrics
  }

  readonly submitted = (task: string): void => {
    this.metricsOf(task).submitted.updateUnsafe(1, this.context)
  }

  readonly dispatched = (task: string, waitMs: number): void => {
    this.queueWaits.add(waitMs * 1_000)
    this.metricsOf(task).queueWait.updateUnsafe(waitMs / 1_000, this.context)
  }

  readonly completed = (task: string, outcome: OutcomeName, runMs: number | undefined): void => {
    const metrics = this.metricsOf(task)
    metrics.completed[outcome].updateUnsafe(1, this.context)
    if (runMs === undefined) return
    this.runTimes.add(runMs * 1_000)
    metrics.runTime.updateUnsafe(runMs / 1_000, this.context)
    if (runMs > this.slowAfterMs) {
      this.slowTasks++
      metrics.slow.updateUnsafe(1, this.context)
    }
  }

  readonly restarted = (): void => {
    ComputeMetrics.workerRestarts.updateUnsafe(1, this.context)
  }

  readonly gauges = (active: number, queued: number, live: number): void => {
    ComputeMetrics.tasksActive.updateUnsafe(active, this.context)
    ComputeMetrics.queueDepth.updateUnsafe(queued, this.context)
    ComputeMetrics.liveWorkers.updateUnsafe(live, this.context)
  }

  utilization(workerId: number, value: number): void {
    Metric.withAttributes(ComputeMetrics.workerUtilization, { worker: String(workerId) }).updateUnsafe(
      value,
      this.context
    )
  }
}
