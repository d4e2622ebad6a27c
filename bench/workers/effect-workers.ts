/**
 * The worker for the "effect-workers" pool: effect's own worker runner (@effect/platform-node NodeWorkerRunner).
 * The handler returns no Effect, so the worker side starts no fiber per message: only the main side's cost is measured.
 */
import * as NodeWorkerRunner from "@effect/platform-node/NodeWorkerRunner"
import { Effect } from "effect"
import { WorkerRunnerPlatform } from "effect/workers/WorkerRunner"
import { spin } from "../workload.ts"

const program = Effect.gen(function*() {
  const runner = yield* (yield* WorkerRunnerPlatform).start<[number, number], [number, number, number]>()
  yield* runner.run<void, never, never>((portId, [id, op, n]) => {
    runner.sendUnsafe(portId, [id, op === 0 ? n : spin(n)])
  })
})

Effect.runFork(Effect.provide(program, NodeWorkerRunner.layer))
