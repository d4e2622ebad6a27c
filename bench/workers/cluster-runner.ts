/**
 * A runner process of the cluster pools: the bench's tasks on a pool of RUNNER_THREADS workers (the effect-compute
 * worker entry), over the database at DATABASE_URL, listening on 127.0.0.1:RUNNER_PORT. Prints `ready <name>`.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import { fastFailover, layerRunner } from "../../packages/compute/test/cluster/fixtures/cluster.ts"
import { BenchCluster } from "../tasks.ts"

const env = (name: string) => {
  const value = process.env[name]
  if (value === undefined || value === "") throw new Error(`cluster-runner: ${name} is not set`)
  return value
}

const Runner = layerRunner({
  tasks: BenchCluster,
  entry: new URL("./effect-compute.ts", import.meta.url),
  url: env("DATABASE_URL"),
  port: Number(env("RUNNER_PORT")),
  threads: Number(env("RUNNER_THREADS")),
  overrides: fastFailover
})

Effect.gen(function*() {
  yield* Layer.build(Runner)
  console.log(`ready ${env("RUNNER_NAME")}`)
  return yield* Effect.never
}).pipe(Effect.scoped, NodeRuntime.runMain)
