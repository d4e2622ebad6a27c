import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber } from "effect"
import { ComputeError, ComputePool } from "effect-compute"
import { Add } from "./fixtures/tasks.ts"
import { squashedOf } from "./helpers.ts"

const entry = new URL("./fixtures/worker.ts", import.meta.url)

/** Samples the pool's queue depth while `effect` runs; returns its result and the deepest queue seen. */
const withQueueSampling = <A, E>(effect: Effect.Effect<A, E, ComputePool.ComputePool>) =>
  Effect.gen(function*() {
    let deepest = 0
    const sampler = yield* Effect.forkChild(Effect.forever(Effect.andThen(
      Effect.map(ComputePool.stats, (stats) => {
        deepest = Math.max(deepest, stats.queuedTasks)
      }),
      Effect.sleep(1)
    )))
    const result = yield* effect
    yield* Fiber.interrupt(sampler)
    return { result, deepest }
  })

describe("floods", () => {
  it.live(
    "100k tasks at once against a fail-fast queue: the rest get QueueFull, none is lost, the queue stays bounded",
    () =>
      Effect.gen(function*() {
        const total = 100_000
        const { deepest, result } = yield* withQueueSampling(
          Effect.forEach(
            Array.from({ length: total }, (_, i) => i),
            (i) => Effect.exit(ComputePool.execute(Add, [i, 1])),
            {
              concurrency: "unbounded"
            }
          )
        )
        let succeeded = 0
        let queueFull = 0
        for (const exit of result) {
          if (Exit.isSuccess(exit)) succeeded++
          else {
            const error = squashedOf(exit) as ComputeError.ComputeError
            assert.strictEqual(error.reason._tag, "QueueFull")
            queueFull++
          }
        }
        assert.strictEqual(succeeded + queueFull, total)
        assert.isAbove(succeeded, 0)
        assert.isAbove(queueFull, 0)
        assert.isAtMost(deepest, 1_000)
        const stats = yield* ComputePool.stats
        assert.strictEqual(stats.rejected, queueFull)
        assert.strictEqual(stats.succeeded, succeeded)
        assert.strictEqual(stats.queuedTasks, 0)
      }).pipe(Effect.provide(ComputePool.layer({ entry, threads: 2, maxQueue: 1_000, onQueueFull: "fail" }))),
    120_000
  )

  it.live(
    "100k tasks from 5,000 callers against a suspending queue: all complete, in order per caller",
    () =>
      Effect.gen(function*() {
        const total = 100_000
        const results = yield* Effect.forEach(
          Array.from({ length: total }, (_, i) => i),
          (i) => ComputePool.execute(Add, [i, 1]),
          { concurrency: 5_000 }
        )
        assert.strictEqual(results.length, total)
        for (let i = 0; i < total; i++) if (results[i] !== i + 1) assert.fail(`result ${i} is ${results[i]}`)
        const stats = yield* ComputePool.stats
        assert.strictEqual(stats.succeeded, total)
        assert.strictEqual(stats.rejected, 0)
      }).pipe(Effect.provide(ComputePool.layer({ entry, threads: 2, maxQueue: 1_000 }))),
    120_000
  )
})
