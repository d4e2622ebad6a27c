/**
 * How a task ended, in one vocabulary from the pool's settlement to the metrics snapshot: six outcomes, each named
 * once. The public `PoolStats` keeps its own field names (`succeeded`, `failed`, `defects`...); {@link toStats} is the
 * one place that translates, for the worker pool and `layerInline` alike.
 */
import * as Cause from "effect/Cause"
import type * as Exit from "effect/Exit"
import type * as ComputeMetrics from "../ComputeMetrics.ts"
import type { PoolStats } from "../ComputePool.ts"
import type { Settlement } from "./settlement.ts"

export type Outcome = "success" | "failure" | "defect" | "interrupted" | "crashed" | "rejected"

export const outcomes: ReadonlyArray<Outcome> = ["success", "failure", "defect", "interrupted", "crashed", "rejected"]

/** Every submitted task lands in exactly one outcome; `stolen` counts rebalancing, not an ending. */
export interface OutcomeCounts extends Record<Outcome, number> {
  submitted: number
  stolen: number
}

export const noOutcomes = (): OutcomeCounts => ({
  submitted: 0,
  success: 0,
  failure: 0,
  defect: 0,
  interrupted: 0,
  crashed: 0,
  rejected: 0,
  stolen: 0
})

/** The outcome a settlement counts as. A task that was never run to an end of its own is `rejected`. */
export const outcomeOf = (settlement: Settlement): Outcome => {
  switch (settlement._tag) {
    case "Success":
      return "success"
    case "Failure":
    case "ComputeFailure":
    case "NotServed":
      return "failure"
    case "Encoding":
      // A payload that could not be sent or read never ran; a result that could not come back did.
      return settlement.direction === "payload" ? "rejected" : "failure"
    case "Defect":
      return "defect"
    case "Interrupted":
      return "interrupted"
    case "Crashed":
      return "crashed"
    case "Closed":
    case "QueueFull":
    case "StartFailed":
    case "Quarantined":
      return "rejected"
  }
}

/** The outcome of a handler run on the calling thread (`layerInline`), from its Exit. */
export const outcomeOfExit = (exit: Exit.Exit<unknown, unknown>): Outcome =>
  exit._tag === "Success"
    ? "success"
    : Cause.hasInterruptsOnly(exit.cause)
    ? "interrupted"
    : Cause.hasDies(exit.cause)
    ? "defect"
    : "failure"

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
