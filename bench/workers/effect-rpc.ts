/**
 * The worker for the "effect-rpc" pool: Effect's RPC server over the worker runner protocol
 * (@effect/platform-node NodeWorkerRunner), serving the benchmark's RPC group.
 */
import * as NodeWorkerRunner from "@effect/platform-node/NodeWorkerRunner"
import { Effect, Layer } from "effect"
import * as RpcServer from "effect/rpc/RpcServer"
import { BenchRpcs } from "../rpcs.ts"
import { ends, spin } from "../workload.ts"

const handlers = BenchRpcs.toLayer({
  Noop: (n) => Effect.succeed(n),
  Spin: (n) => Effect.sync(() => spin(n)),
  ArrayEnds: (array) => Effect.succeed(ends(array))
})

// The protocol interrupts this fiber when the parent closes the worker, which ends the launched layer.
RpcServer.layer(BenchRpcs).pipe(
  Layer.provide(handlers),
  Layer.provide(RpcServer.layerProtocolWorkerRunner),
  Layer.provide(NodeWorkerRunner.layer),
  Layer.launch,
  Effect.runFork
)
