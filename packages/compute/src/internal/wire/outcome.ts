/**
 * How a task ended, in one vocabulary from the pool's settlement to the metrics snapshot: six outcomes, each named
 * once. The public `PoolStats` keeps its own field names (`succeeded`, `failed`, `defects`...); `toStats`
 * (`main/poolState.ts`) is the one place that translates, for the worker pool and `layerInline` alike.
 */
import * as Cause from "effect/Cause"
import type * as Exit from "effect/Exit"
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
