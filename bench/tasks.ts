/**
 * The tasks effect-compute runs in the benchmark.
 */
import { Schema } from "effect"
import { ComputeTask } from "effect-compute"
import { spin } from "./workload.ts"

export const Noop = ComputeTask.make("Noop", {
  payload: Schema.Number,
  success: Schema.Number,
  handler: (n) => n
})

export const Spin = ComputeTask.make("Spin", {
  payload: Schema.Number,
  success: Schema.Number,
  handler: spin
})
