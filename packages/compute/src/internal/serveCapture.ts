/**
 * How a pool disabled by `threads: 0` learns what its worker entry serves: it imports the entry on the main thread
 * with this global key set, and `ComputeWorker.serve` hands its options over instead of starting a worker runtime.
 */
import type * as Layer from "effect/Layer"
import type * as ComputeTask from "../ComputeTask.ts"

export const serveCaptureKey = Symbol.for("effect-compute/serve-capture")

export interface ServedEntry {
  readonly tasks: ReadonlyArray<ComputeTask.Any>
  readonly layer: Layer.Layer<any, unknown, never> | undefined
}
