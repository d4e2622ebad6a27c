/**
 * effect-compute's cluster client as a bench pool: runner processes and a Postgres, loaded only by the cluster rows'
 * cases (the cluster's modules and fixtures take a few tenths of a second to load).
 */
import { Effect, Layer, ManagedRuntime } from "effect"
import { ComputeParallel, ComputePool } from "effect-compute"
import { fileURLToPath } from "node:url"
import { fastFailover, layerClient } from "../packages/compute/test/cluster/fixtures/cluster.ts"
import { DatabaseService, layerDatabase } from "../packages/compute/test/cluster/fixtures/postgres.ts"
import { layerRunners } from "../packages/compute/test/cluster/fixtures/processes.ts"
import type { BenchPool } from "./pools.ts"
import { BenchCluster, Noop, Pid, Spin } from "./tasks.ts"

/**
 * effect-compute's cluster client (`ComputeCluster.layerClient`) over `runners` runner processes of `threads` workers
 * each, on 127.0.0.1, sharing state in a Postgres this pool starts (embedded, or DATABASE_URL's server): the client
 * side driven as an Effect program would, like effect-compute. Startup (Postgres, runners, shard acquisition) is not
 * timed: the pool is ready once every runner has answered.
 */
export const effectCluster = (runners: number) => async (threads: number): Promise<BenchPool> => {
  const names = Array.from({ length: runners }, (_, i) => `runner-${i + 1}`)
  const runnerEntry = fileURLToPath(new URL("./workers/cluster-runner.ts", import.meta.url))
  const client = Layer.unwrap(Effect.map(
    Effect.service(DatabaseService),
    ({ url }) => layerClient({ tasks: BenchCluster, url, threads: runners * threads, overrides: fastFailover })
  ))
  const runtime = ManagedRuntime.make(
    client.pipe(Layer.provideMerge(layerRunners(names, threads, runnerEntry)), Layer.provideMerge(layerDatabase()))
  )
  const pool = await runtime.runPromise(ComputePool.ComputePool.useSync((service) => service))
  await runtime.runPromise(Effect.gen(function*() {
    const seen = new Set<number>()
    while (seen.size < runners) {
      const pids = yield* Effect.forEach(Array.from({ length: 30 }, (_, i) => i), (i) => pool.execute(Pid, i), {
        concurrency: "unbounded"
      })
      for (const pid of pids) seen.add(pid)
    }
  }))
  return {
    sequential: (count) =>
      runtime.runPromise(Effect.gen(function*() {
        for (let i = 0; i < count; i++) yield* pool.execute(Noop, i)
      })),
    windowed: (count, window, op, n) =>
      runtime.runPromise(
        Effect.forEach(Array.from({ length: count }, () => n), (payload) =>
          op === 0 ? pool.execute(Noop, payload) : pool.execute(Spin, payload), {
          concurrency: Number.isFinite(window) ? window : "unbounded",
          discard: true
        })
      ),
    map: (count, iterations) =>
      runtime.runPromise(
        Effect.asVoid(
          ComputeParallel.map(Array.from({ length: count }, () => iterations), Spin).pipe(
            Effect.provideService(ComputePool.ComputePool, pool)
          )
        )
      ),
    close: () => runtime.dispose()
  }
}
