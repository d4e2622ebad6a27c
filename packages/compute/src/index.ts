/**
 * effect-compute: a compute pool for Effect applications, on `node:worker_threads`.
 *
 * It ports the compute module of a Rust runtime that pairs Tokio (async I/O) with a Rayon thread pool; where the
 * docs say "the Rust runtime", they mean that module: its configuration keys, presets, metrics and operations.
 *
 * @since 0.1.0
 */

/**
 * The errors a pool can raise besides a task's own typed failure.
 *
 * @since 0.1.0
 */
export * as ComputeError from "./ComputeError.ts"

/**
 * The compute pool service, its layers and operations.
 *
 * @since 0.1.0
 */
export * as ComputePool from "./ComputePool.ts"

/**
 * Typed task definitions shared by the main thread and the workers.
 *
 * @since 0.1.0
 */
export * as ComputeTask from "./ComputeTask.ts"

/**
 * The worker side: serve tasks in a worker entry file.
 *
 * @since 0.1.0
 */
export * as ComputeWorker from "./ComputeWorker.ts"

/**
 * Data parallelism: map, reduce and streams on the pool.
 *
 * @since 0.1.0
 */
export * as ComputeParallel from "./ComputeParallel.ts"

/**
 * Compute scopes: spawn tasks as work is discovered, then join them all.
 *
 * @since 0.1.0
 */
export * as ComputeScope from "./ComputeScope.ts"

/**
 * The pool's Effect metrics and the snapshot type.
 *
 * @since 0.1.0
 */
export * as ComputeMetrics from "./ComputeMetrics.ts"

/**
 * Configuration: Effect Config, TOML `[runtime]` keys, presets.
 *
 * @since 0.1.0
 */
export * as ComputeConfig from "./ComputeConfig.ts"

/**
 * Placement helpers: small (inline), medium and large (pool), adaptive, with validation.
 *
 * @since 0.1.0
 */
export * as ComputePlacement from "./ComputePlacement.ts"

/**
 * Past one machine: the same tasks on effect/cluster runners, with a client that provides `ComputePool`.
 *
 * @since 0.1.0
 */
export * as ComputeCluster from "./ComputeCluster.ts"
