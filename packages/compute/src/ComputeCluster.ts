/**
 * Past one machine: the same tasks on `effect/cluster` runners.
 *
 * A task set becomes one entity type with an RPC per task (the task's payload, success and failure schemas, plus
 * `ComputeError`). A **runner** process hosts the entity on its own `ComputePool` ({@link layerRunner}): every
 * call is `ComputePool.execute` there, so backpressure, crash isolation, interruption and metrics work as they do
 * locally. A **client** ({@link layerClient}) provides the same `ComputePool` service, so `ComputePool.execute`,
 * `join`, `ComputeParallel.map` and `ComputeScope` run unchanged against the cluster.
 *
 * This module needs `Sharding` from effect/cluster and brings no transport or storage of its own: the app provides
 * them — typically `NodeClusterSocket.layer` from `@effect/platform-node` over a `SqlClient` such as
 * `@effect/sql-pg`'s `PgClient.layer` (runner and shard state in Postgres). {@link shardingConfig} gives both sides
 * the settings this module relies on: loopback unless a host is given, a shard weight equal to the runner's threads,
 * and failover in seconds rather than effect's default minute.
 *
 * Delivery: a call is volatile by default — at least once while its caller lives (it runs again on another runner
 * if its runner dies mid-call; with no runner at all it waits, so set a timeout). {@link persisted} calls are stored
 * and deduplicated by their key. Either way a task may run twice: make tasks idempotent.
 *
 * @since 0.1.0
 * @module
 */
import { RunnerAddress } from "effect/cluster/RunnerAddress"
import type { Sharding } from "effect/cluster/Sharding"
import type * as ShardingConfig from "effect/cluster/ShardingConfig"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type { ComputePool } from "./ComputePool.ts"
import type * as ComputeTask from "./ComputeTask.ts"
import { CurrentCall } from "./internal/cluster/callOptions.ts"

/** The cluster side of this module, loaded when a runner or client Layer is built (see internal/cluster/layers.ts). */
const layers = Effect.promise(() => import("./internal/cluster/layers.ts"))

const TypeId = "~effect-compute/ComputeCluster" as const

/**
 * A task set as an effect/cluster entity: what a runner hosts and what a client calls.
 *
 * @category models
 * @since 0.1.0
 */
export interface TaskEntity<Tasks extends ReadonlyArray<ComputeTask.Any>> {
  readonly [TypeId]: typeof TypeId
  /** The entity type's name, the same on every runner and client. */
  readonly type: string
  /** Each becomes three RPCs of the entity: `Name`, `Name/chunk` and `Name/persisted`. */
  readonly tasks: Tasks
}

/**
 * Makes the entity of a task set. Runners and clients must build it from the same tasks under the same type name.
 *
 * @example
 * ```ts
 * import { ComputeCluster } from "effect-compute"
 * import { Fib } from "./tasks.ts"
 *
 * // In the tasks module, beside the tasks: runners and clients import the same entity.
 * export const Compute = ComputeCluster.make("Compute", [Fib])
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = <const Tasks extends ReadonlyArray<ComputeTask.Any>>(
  type: string,
  tasks: Tasks
): TaskEntity<Tasks> => {
  const names = new Set<string>()
  for (const task of tasks) {
    if (names.has(task.name)) throw new TypeError(`ComputeCluster.make("${type}"): two tasks are named "${task.name}"`)
    names.add(task.name)
  }
  return { [TypeId]: TypeId, type, tasks }
}

/**
 * Options of {@link layerRunner}.
 *
 * @category models
 * @since 0.1.0
 */
export interface RunnerOptions {
  /**
   * Calls one entity runs at once. Default "unbounded": the local pool's queue is the bound (its `maxQueue` and
   * `onQueueFull`), as for local callers.
   */
  readonly concurrency?: number | "unbounded" | undefined
  /** How long an idle entity stays resident. Default: the `ShardingConfig`'s `entityMaxIdleTime` (1 minute). */
  readonly maxIdleTime?: Duration.Input | undefined
  /**
   * The serializer's frame limit, in bytes, as set on the transport (`serializationMaxBufferSize`). A result that
   * would not fit fails its call with `EncodingError` instead of breaking the connection. Default 16 MiB, the
   * SchemaBinary serializer's default; `"unbounded"` skips the check.
   */
  readonly maxFrameSize?: number | "unbounded" | undefined
}

/**
 * Hosts the task set on this runner, on the `ComputePool` it is given (the runner's own workers). Needs `Sharding`
 * from a runner transport — `NodeClusterSocket.layer({ storage: "sql", shardingConfig })`, say — and the pool.
 *
 * @example
 * ```ts
 * import { NodeClusterSocket } from "@effect/platform-node"
 * import { PgClient } from "@effect/sql-pg"
 * import { Layer, Redacted } from "effect"
 * import { ComputeCluster, ComputePool } from "effect-compute"
 * import { Fib } from "./tasks.ts"
 *
 * const Compute = ComputeCluster.make("Compute", [Fib])
 * const threads = 4
 * const Runner = ComputeCluster.layerRunner(Compute).pipe(
 *   Layer.provide(ComputePool.layer({ entry: new URL("./worker.ts", import.meta.url), threads })),
 *   Layer.provide(NodeClusterSocket.layer({
 *     storage: "sql",
 *     shardingConfig: ComputeCluster.shardingConfig({ port: 34431, threads })
 *   })),
 *   Layer.provide(PgClient.layer({ url: Redacted.make(process.env.DATABASE_URL!) }))
 * )
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layerRunner = <Tasks extends ReadonlyArray<ComputeTask.Any>>(
  tasks: TaskEntity<Tasks>,
  options: RunnerOptions = {}
): Layer.Layer<never, never, ComputePool | Sharding> =>
  Layer.unwrap(Effect.map(layers, (cluster) => cluster.layerRunner(tasks.type, tasks.tasks, options)))

/**
 * Options of {@link layerClient}.
 *
 * @category models
 * @since 0.1.0
 */
export interface ClientOptions {
  /**
   * The cluster's worker threads, as the client's `ComputePool.threads`: what `ComputeParallel` sizes its chunks
   * by (about 8 chunks per thread). Default 8.
   */
  readonly threads?: number | undefined
  /** Shards per group, as set on the runners. Default 300 (effect/cluster's and {@link shardingConfig}'s). */
  readonly shardsPerGroup?: number | undefined
  /** The serializer's frame limit, as on the runners: a payload that would not fit fails with `EncodingError`. */
  readonly maxFrameSize?: number | "unbounded" | undefined
}

/**
 * The `ComputePool` service backed by the cluster: every call is an RPC to the runner that owns the entity it picks.
 * Calls without a key are spread round-robin over one entity per shard, so each runner gets work in proportion to
 * its shards (its weight: its threads). Needs `Sharding`, e.g. `NodeClusterSocket.layer({ clientOnly: true,
 * storage: "sql" })`.
 *
 * What differs from a local pool: `transfer` lists fail with `InvalidOptions` (nothing can be moved to another
 * machine), and `ComputeParallel.shared` memory is copied, not shared — a task that writes into it writes into the
 * runner's copy. A call waits while no runner holds its shard: give it a timeout.
 *
 * @example
 * ```ts
 * import { NodeClusterSocket } from "@effect/platform-node"
 * import { PgClient } from "@effect/sql-pg"
 * import { Effect, Layer, Redacted } from "effect"
 * import { ComputeCluster, ComputeParallel, ComputePool } from "effect-compute"
 * import { Fib } from "./tasks.ts"
 *
 * const Compute = ComputeCluster.make("Compute", [Fib])
 * const Cluster = ComputeCluster.layerClient(Compute, { threads: 12 }).pipe(
 *   Layer.provide(NodeClusterSocket.layer({
 *     clientOnly: true,
 *     storage: "sql",
 *     shardingConfig: ComputeCluster.shardingConfig()
 *   })),
 *   Layer.provide(PgClient.layer({ url: Redacted.make(process.env.DATABASE_URL!) }))
 * )
 *
 * // The same call sites as with ComputePool.layer:
 * const program = Effect.gen(function*() {
 *   const one = yield* ComputePool.execute(Fib, 30)
 *   const many = yield* ComputeParallel.map([20, 21, 22], Fib)
 *   return [one, ...many]
 * }).pipe(Effect.provide(Cluster))
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layerClient = <Tasks extends ReadonlyArray<ComputeTask.Any>>(
  tasks: TaskEntity<Tasks>,
  options: ClientOptions = {}
): Layer.Layer<ComputePool, never, Sharding> =>
  Layer.unwrap(Effect.map(layers, (cluster) =>
    cluster.layerClient(tasks.type, tasks.tasks, {
      threads: options.threads ?? 8,
      shardsPerGroup: options.shardsPerGroup ?? defaultShardsPerGroup,
      maxFrameSize: options.maxFrameSize
    })))

const defaultShardsPerGroup = 300

/**
 * Options of {@link shardingConfig}.
 *
 * @category models
 * @since 0.1.0
 */
export interface ShardingOptions {
  /** The runner's port. Leave it out on a client (clients listen on nothing). */
  readonly port?: number | undefined
  /**
   * The host other runners and clients reach this runner at. Default "127.0.0.1": a runner runs whatever its
   * registered tasks are asked to by anyone who reaches its port, and the transport has no authentication, so it is
   * reachable from other machines only when a host is given here.
   */
  readonly host?: string | undefined
  /** The runner's worker threads: its shard weight, so it gets calls in proportion. Default 1. */
  readonly threads?: number | undefined
  /** Anything else of effect/cluster's `ShardingConfig`, over the settings above. */
  readonly overrides?: Partial<ShardingConfig.ShardingConfig["Service"]> | undefined
}

/**
 * The `ShardingConfig` fields a compute runner or client should start from, to pass as `shardingConfig` to
 * `NodeClusterSocket.layer`: the runner's address (loopback unless `host` is given), its weight (its threads), 300
 * shards, and failover timings of a few seconds — shard locks that expire after 5 s and are refreshed every second,
 * assignments re-read every second, runner health checked every 2 s — where effect's defaults take about a minute.
 *
 * @example
 * ```ts
 * import { ComputeCluster } from "effect-compute"
 *
 * const runner = ComputeCluster.shardingConfig({ port: 34431, threads: 4 }) // 127.0.0.1:34431, weight 4
 * const exposed = ComputeCluster.shardingConfig({ host: "10.0.0.7", port: 34431, threads: 4 })
 * const client = ComputeCluster.shardingConfig()
 * ```
 *
 * @category configuration
 * @since 0.1.0
 */
export const shardingConfig = (options: ShardingOptions = {}): Partial<ShardingConfig.ShardingConfig["Service"]> => {
  const address = options.port === undefined
    ? Option.none()
    : Option.some(RunnerAddress.make({ host: options.host ?? "127.0.0.1", port: options.port }))
  return {
    runnerAddress: address,
    runnerListenAddress: address,
    runnerShardWeight: options.threads ?? 1,
    shardsPerGroup: defaultShardsPerGroup,
    shardLockRefreshInterval: Duration.seconds(1),
    shardLockExpiration: Duration.seconds(5),
    refreshAssignmentsInterval: Duration.seconds(1),
    runnerHealthCheckInterval: Duration.seconds(2),
    sendRetryInterval: Duration.millis(100),
    entityMessagePollInterval: Duration.seconds(1),
    entityReplyPollInterval: Duration.millis(100),
    ...options.overrides
  }
}

/**
 * Sends the pool calls of an effect with a key: calls with the same key go to the same entity, and so to the same
 * runner while the shards stay where they are (for a cache on that runner, say).
 *
 * @example
 * ```ts
 * import { ComputeCluster, ComputePool } from "effect-compute"
 * import { Fib } from "./tasks.ts"
 *
 * // Every call for one user lands on the same runner (while the shards stay put).
 * const forUser = (userId: string, n: number) =>
 *   ComputePool.execute(Fib, n).pipe(ComputeCluster.withKey(`user-${userId}`))
 * ```
 *
 * @category call options
 * @since 0.1.0
 */
export const withKey = (key: string) => <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.provideService(effect, CurrentCall, { key })

/**
 * Makes the pool calls of an effect persisted under a key: the call is stored before it runs and its reply after,
 * so a call whose runner died is run again by the next owner of its shard, and a second call with the same task and
 * key (from any client) gets the stored reply instead of running again. The key is the call's identity: give each
 * distinct call its own. Chunks (`ComputeParallel.map`) stay volatile. A persisted call costs a few storage round
 * trips and waits for its reply by polling storage (`entityReplyPollInterval`, 100 ms in {@link shardingConfig}).
 *
 * @example
 * ```ts
 * import { ComputeCluster, ComputePool } from "effect-compute"
 * import { Fib } from "./tasks.ts"
 *
 * // Asked twice, from any client, "fib-40" runs once; a runner dying mid-call makes it run once more, elsewhere.
 * const stored = ComputePool.execute(Fib, 40).pipe(ComputeCluster.persisted("fib-40"))
 * ```
 *
 * @category call options
 * @since 0.1.0
 */
export const persisted = (key: string) => <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.provideService(effect, CurrentCall, { key, persisted: true })
