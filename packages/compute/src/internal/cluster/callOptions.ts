/**
 * How one call travels over the cluster — its key, and whether it is persisted — as a fiber-local setting, so that
 * `ComputePool.execute` call sites stay as they are and `ComputeCluster.withKey` / `persisted` wrap them.
 */
import * as Context from "effect/Context"

export interface CallOptions {
  /** Calls with the same key go to the same entity (and runner). */
  readonly key?: string | undefined
  /** Stored and deduplicated by the key. */
  readonly persisted?: boolean | undefined
}

/** The call options of the current fiber; set by `ComputeCluster.withKey` and `ComputeCluster.persisted`. */
export const CurrentCall = Context.Reference<CallOptions>("effect-compute/ComputeCluster/CurrentCall", {
  defaultValue: () => ({})
})
