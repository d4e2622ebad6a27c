/**
 * A pool's state at one moment — its workers and its outcome counts — and the two views a user reads of it: the
 * stats and the metrics snapshot. Every layer (the pool, `layerInline`, a cluster client) builds its views here.
 */
import type * as ComputeMetrics from "../../ComputeMetrics.ts"
import type { PoolStats } from "../service.ts"
import type { OutcomeCounts } from "../wire/outcome.ts"

/** What either layer knows of itself at one moment: the input of its stats and its snapshot. */
export interface PoolState extends
  Pick<
    PoolStats,
    "threads" | "liveWorkers" | "activeTasks" | "queuedTasks" | "workerRestarts" | "workerRecycles"
  >
{
  readonly counts: OutcomeCounts
}

export const toStats = (state: PoolState): PoolStats => ({
  threads: state.threads,
  liveWorkers: state.liveWorkers,
  activeTasks: state.activeTasks,
  queuedTasks: state.queuedTasks,
  workerRestarts: state.workerRestarts,
  workerRecycles: state.workerRecycles,
  submitted: state.counts.submitted,
  succeeded: state.counts.success,
  failed: state.counts.failure,
  defects: state.counts.defect,
  interrupted: state.counts.interrupted,
  crashed: state.counts.crashed,
  rejected: state.counts.rejected,
  stolen: state.counts.stolen
})

/** The snapshot's duration fields; all zero where nothing was measured (metrics off, or `layerInline`). */
export type Durations = Pick<
  ComputeMetrics.Snapshot,
  "avg_task_duration_us" | "max_task_duration_us" | "slow_tasks" | "queue_wait_us" | "run_time_us"
>

export const noDurations: Durations = {
  avg_task_duration_us: 0,
  max_task_duration_us: 0,
  slow_tasks: 0,
  queue_wait_us: { p50: 0, p90: 0, p99: 0, max: 0 },
  run_time_us: { p50: 0, p90: 0, p99: 0, max: 0 }
}

export const toSnapshot = (
  state: PoolState,
  durations: Durations,
  utilization: ReadonlyArray<number>
): ComputeMetrics.Snapshot => {
  const { counts } = state
  return {
    tasks_total: counts.submitted,
    tasks_active: state.activeTasks,
    tasks_queued: state.queuedTasks,
    ...durations,
    outcomes: {
      success: counts.success,
      failure: counts.failure,
      defect: counts.defect,
      interrupted: counts.interrupted,
      crashed: counts.crashed,
      rejected: counts.rejected
    },
    worker_restarts: state.workerRestarts,
    worker_recycles: state.workerRecycles,
    worker_utilization: utilization
  }
}
