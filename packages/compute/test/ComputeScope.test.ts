import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber } from "effect"
import { ComputeError, ComputePool, ComputeScope } from "effect-compute"
import { Add, Double, Negative, Pair, SpinCooperative, Square } from "./fixtures/tasks.ts"

const entry = new URL("./fixtures/worker.ts", import.meta.url)

type Pool = ComputePool.ComputePool
type Failure = ComputeError.ComputeError | Negative

const Pool = ComputePool.layer({ entry, threads: 2, interruptGracePeriod: "30 seconds" })

describe("ComputeScope on real workers", () => {
  it.layer(Pool)((it) => {
    it.effect("the reference's scope test: 4 tasks producing (i, i*2) give [0, 2, 4, 6] sorted", () =>
      Effect.gen(function*() {
        const pairs = yield* ComputeScope.scoped<readonly [number, number], ComputeError.ComputeError, Pool>((scope) =>
          Effect.forEach([0, 1, 2, 3], (i) => scope.spawn(ComputePool.execute(Pair, i)))
        )
        assert.deepStrictEqual(pairs.map(([, doubled]) => doubled).toSorted((a, b) => a - b), [0, 2, 4, 6])
      }))

    it.effect("the reference's join test: (2+2, 3*3) gives (4, 9)", () =>
      Effect.gen(function*() {
        assert.deepStrictEqual(
          yield* ComputePool.join(ComputePool.execute(Add, [2, 2]), ComputePool.execute(Square, 3)),
          [4, 9]
        )
      }))

    it.effect("tasks spawned while the scope waits are joined too (work discovered as it goes)", () =>
      Effect.gen(function*() {
        // Each task doubles its input; inputs below 64 spawn two more: a tree of 127 tasks, discovered at run time.
        const results = yield* ComputeScope.scoped<number, ComputeError.ComputeError, Pool>((scope) => {
          const visit = (n: number): Effect.Effect<number, ComputeError.ComputeError, Pool> =>
            ComputePool.execute(Double, n).pipe(
              Effect.tap(() =>
                n < 64 ? Effect.all([scope.spawn(visit(2 * n)), scope.spawn(visit(2 * n + 1))]) : Effect.void
              )
            )
          return scope.spawn(visit(1))
        })
        assert.strictEqual(results.length, 127)
        assert.deepStrictEqual(results.toSorted((a, b) => a - b), Array.from({ length: 127 }, (_, i) => 2 * (i + 1)))
      }))
  })

  it.live("the first failure interrupts the other tasks, which really stop", () =>
    Effect.gen(function*() {
      const before = yield* ComputePool.stats
      const exit = yield* Effect.exit(
        ComputeScope.scoped<unknown, Failure, Pool>((scope) =>
          Effect.gen(function*() {
            // One worker busy in a loop, the other free for the task that fails.
            yield* scope.spawn(ComputePool.execute(SpinCooperative, undefined))
            yield* Effect.sleep(50)
            yield* scope.spawn(ComputePool.execute(Square, -2))
          })
        )
      )
      assert.isTrue(Exit.isFailure(exit))
      assert.instanceOf(Cause.squash((exit as Exit.Failure<unknown, unknown>).cause), Negative)
      const after = yield* ComputePool.stats
      assert.strictEqual(after.interrupted - before.interrupted, 1)
      assert.strictEqual(after.activeTasks, 0)
      assert.strictEqual(after.workerRestarts, before.workerRestarts)
    }).pipe(Effect.provide(Pool)))

  it.live("interrupting the scope's owner interrupts every task in it", () =>
    Effect.gen(function*() {
      const before = yield* ComputePool.stats
      const owner = yield* Effect.forkChild(
        ComputeScope.scoped<unknown, Failure, Pool>((scope) =>
          Effect.forEach([1, 2, 3], () => scope.spawn(ComputePool.execute(SpinCooperative, undefined)))
        )
      )
      for (let i = 0; i < 5_000 && (yield* ComputePool.stats).activeTasks < 3; i++) yield* Effect.sleep(2)
      yield* Fiber.interrupt(owner)
      const after = yield* ComputePool.stats
      assert.strictEqual(after.interrupted - before.interrupted, 3)
      assert.strictEqual(after.activeTasks, 0)
    }).pipe(Effect.provide(Pool)))
})
