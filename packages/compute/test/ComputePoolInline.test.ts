import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber } from "effect"
import { ComputeError, ComputePool } from "effect-compute"
import {
  Add,
  AsyncDouble,
  Echo,
  Negative,
  ParallelFib,
  Sleep,
  Square,
  Throw,
  Unserved,
  UseResource,
  WorkerResourceLive
} from "./fixtures/tasks.ts"

const TestPool = ComputePool.layerInline({
  tasks: [Add, AsyncDouble, Echo, Square, Throw, Sleep, UseResource, ParallelFib],
  layer: WorkerResourceLive
})

const squash = <A, E>(exit: Exit.Exit<A, E>) => {
  assert.isTrue(Exit.isFailure(exit))
  return Cause.squash((exit as Exit.Failure<A, E>).cause)
}

describe("ComputePool.layerInline", () => {
  it.layer(TestPool)((it) => {
    it.effect("runs tasks on the calling thread with the same results", () =>
      Effect.gen(function*() {
        assert.strictEqual(yield* ComputePool.execute(Add, [2, 3]), 5)
        assert.strictEqual(yield* ComputePool.execute(Square, 9), 81)
        const resource = yield* ComputePool.execute(UseResource, undefined)
        assert.deepStrictEqual(resource, { builds: 1, tag: "built-once", workerId: -1 })
        assert.strictEqual((yield* ComputePool.stats).threads, 0)
      }))

    it.effect("runs Promise handlers", () =>
      Effect.gen(function*() {
        assert.strictEqual(yield* ComputePool.execute(AsyncDouble, 4), 8)
      }))

    it.effect("decodes typed failures and turns throws into TaskDefect", () =>
      Effect.gen(function*() {
        assert.instanceOf(squash(yield* Effect.exit(ComputePool.execute(Square, -1))), Negative)
        const defect = squash(yield* Effect.exit(ComputePool.execute(Throw, "inline boom")))
        assert.instanceOf(defect, ComputeError.TaskDefect)
        assert.strictEqual((defect as ComputeError.TaskDefect).message, "inline boom")
      }))

    it.effect("fails what could not cross a thread, as the pool would", () =>
      Effect.gen(function*() {
        const error = squash(yield* Effect.exit(ComputePool.execute(Echo, { f: () => 1 })))
        assert.isTrue(ComputeError.isComputeError(error))
        assert.strictEqual((error as ComputeError.ComputeError).reason._tag, "EncodingError")
        const unserved = squash(yield* Effect.exit(ComputePool.execute(Unserved, undefined)))
        assert.strictEqual((unserved as ComputeError.ComputeError).reason._tag, "TaskNotServed")
      }))

    it.effect("handlers that use the pool themselves get the inline pool", () =>
      Effect.gen(function*() {
        assert.strictEqual(yield* ComputePool.execute(ParallelFib, 15), 610)
      }))

    it.effect("interrupting the caller interrupts an Effect handler", () =>
      Effect.gen(function*() {
        const fiber = yield* Effect.forkChild(ComputePool.execute(Sleep, 60_000))
        yield* Effect.yieldNow
        yield* Fiber.interrupt(fiber)
        assert.isTrue(Exit.hasInterrupts(yield* Fiber.await(fiber)))
        const stats = yield* ComputePool.stats
        assert.strictEqual(stats.activeTasks, 0)
        assert.strictEqual(stats.interrupted, 1)
      }))
  })
})
