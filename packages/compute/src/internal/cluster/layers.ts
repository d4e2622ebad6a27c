/**
 * The part of ComputeCluster that needs effect/cluster's runtime (entities, RPC, sharding, the binary serializer).
 * `ComputeCluster` loads it with a dynamic import when a runner or client Layer is built, so that importing
 * effect-compute — in every program and every worker — does not load the cluster machinery; measured, that kept
 * about 50 ms off each import of the package.
 */
import type * as Entity from "effect/cluster/Entity"
import type { Sharding } from "effect/cluster/Sharding"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as ComputeTask from "../../ComputeTask.ts"
import { ComputePool } from "../service.ts"
import * as Client from "./client.ts"
import * as Frames from "./frames.ts"
import * as Rpcs from "./rpcs.ts"
import * as Runner from "./runner.ts"

/** One Entity per task set, so a runner and a client in one process share it. */
const entities = new WeakMap<ReadonlyArray<ComputeTask.Any>, Entity.Any>()

export const entityOf = (type: string, tasks: ReadonlyArray<ComputeTask.Any>): Entity.Any => {
  let entity = entities.get(tasks)
  if (entity === undefined) {
    entity = Rpcs.entityOf(type, tasks)
    entities.set(tasks, entity)
  }
  return entity
}

const frameLimit = (option: number | "unbounded" | undefined): number | undefined =>
  option === "unbounded" ? undefined : option ?? Frames.defaultMaxFrameSize

export const layerRunner = (
  type: string,
  tasks: ReadonlyArray<ComputeTask.Any>,
  options: {
    readonly concurrency?: number | "unbounded" | undefined
    readonly maxIdleTime?: Duration.Input | undefined
    readonly maxFrameSize?: number | "unbounded" | undefined
  }
): Layer.Layer<never, never, ComputePool | Sharding> =>
  entityOf(type, tasks).toLayer(
    Effect.map(
      Effect.service(ComputePool),
      (pool) => Runner.handlersOf(tasks, pool, frameLimit(options.maxFrameSize)) as any
    ),
    {
      concurrency: options.concurrency ?? "unbounded",
      maxIdleTime: options.maxIdleTime,
      // A task's defect is already a failure (see the runner's handlers); nothing should restart the entity.
      disableFatalDefects: true
    }
  ) as Layer.Layer<never, never, ComputePool | Sharding>

export const layerClient = (
  type: string,
  tasks: ReadonlyArray<ComputeTask.Any>,
  options: {
    readonly threads: number
    readonly shardsPerGroup: number
    readonly maxFrameSize?: number | "unbounded" | undefined
  }
): Layer.Layer<ComputePool, never, Sharding> =>
  Layer.effect(
    ComputePool,
    Effect.map(
      Client.make(entityOf(type, tasks), {
        threads: options.threads,
        shardsPerGroup: options.shardsPerGroup,
        maxFrameSize: frameLimit(options.maxFrameSize)
      }),
      (pool) => ComputePool.of(pool)
    )
  )
