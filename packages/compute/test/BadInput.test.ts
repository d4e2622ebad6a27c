import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Layer } from "effect"
import { ComputeError, ComputePool, ComputeWorker } from "effect-compute"
import * as fc from "fast-check"
import { Add, Echo } from "./fixtures/tasks.ts"

const entry = new URL("./fixtures/worker.ts", import.meta.url)

/** Structured clone's own equality: what `Echo` must give back for a value that can cross a thread. */
const cloneOf = (value: unknown): unknown => structuredClone(value)

const encodingReason = (exit: Exit.Exit<unknown, unknown>) => {
  assert.isTrue(Exit.isFailure(exit))
  const error = Cause.squash((exit as Exit.Failure<unknown, unknown>).cause)
  assert.isTrue(ComputeError.isComputeError(error), `expected a ComputeError, got ${String(error)}`)
  const reason = (error as ComputeError.ComputeError).reason
  assert.strictEqual(reason._tag, "EncodingError")
  return reason as ComputeError.EncodingError
}

/** Values structured clone can carry: nested, with -0, NaN, BigInt, Dates, Maps, Sets, typed arrays. */
const cloneable = fc.anything({
  maxDepth: 4,
  withBigInt: true,
  withDate: true,
  withMap: true,
  withSet: true,
  withTypedArray: true,
  withSparseArray: true,
  withNullPrototype: false,
  withObjectString: false,
  withBoxedValues: false
})

/** Values that cannot cross a thread, each hidden somewhere inside an ordinary value. */
const uncloneable = fc.oneof(
  fc.constant(() => 1),
  fc.constant(Symbol("nope")),
  fc.constant({
    get broken(): number {
      throw new Error("getter throws")
    }
  }),
  fc.constant(new WeakMap())
).chain((bad) =>
  fc.oneof(
    fc.constant(bad),
    fc.constant({ nested: { deeper: [1, bad] } }),
    fc.constant([bad]),
    fc.constant(new Map([["key", bad]]))
  )
)

describe("bad input, property-based, on real workers", () => {
  it.layer(ComputePool.layer({ entry, threads: 2 }))((it) => {
    it.effect("any cloneable value round-trips exactly", () =>
      Effect.promise(() =>
        fc.assert(
          fc.asyncProperty(cloneable, async (value) => {
            const back = await Effect.runPromise(
              Effect.exit(ComputePool.execute(Echo, value)).pipe(
                Effect.provide(ComputePool.layerInline({ tasks: [Echo] }))
              )
            )
            assert.isTrue(Exit.isSuccess(back))
            assert.deepStrictEqual((back as Exit.Success<unknown>).value, cloneOf(value))
          }),
          { numRuns: 100, seed: 20261126 }
        )
      ))

    it.effect("the same values cross to real workers and back", () =>
      Effect.gen(function*() {
        const values = fc.sample(cloneable, { numRuns: 300, seed: 42 })
        const results = yield* Effect.forEach(values, (value) => ComputePool.execute(Echo, value), {
          concurrency: "unbounded"
        })
        for (let i = 0; i < values.length; i++) {
          const expected = cloneOf(values[i])
          if (Number.isNaN(expected)) assert.isTrue(Number.isNaN(results[i]))
          else if (Object.is(expected, -0)) assert.isTrue(Object.is(results[i], -0), "-0 stays -0")
          else assert.deepStrictEqual(results[i], expected)
        }
      }))

    it.effect("a value that cannot cross fails that call with EncodingError, and the pool keeps serving", () =>
      Effect.gen(function*() {
        const values = fc.sample(uncloneable, { numRuns: 40, seed: 7 })
        for (const value of values) {
          const [bad, good] = yield* Effect.all([
            Effect.exit(ComputePool.execute(Echo, value)),
            ComputePool.execute(Add, [2, 3])
          ], { concurrency: "unbounded" })
          const reason = encodingReason(bad)
          assert.strictEqual(reason.direction, "payload")
          assert.include(reason.message, "Echo")
          assert.strictEqual(good, 5)
        }
        const stats = yield* ComputePool.stats
        assert.strictEqual(stats.activeTasks, 0)
        assert.strictEqual(stats.workerRestarts, 0)
      }))

    it.effect("a class instance in an untyped payload fails rather than silently losing its methods", () =>
      Effect.gen(function*() {
        class Point {
          readonly x: number
          constructor(x: number) {
            this.x = x
          }
          norm() {
            return Math.abs(this.x)
          }
        }
        for (const value of [new Point(1), { nested: [new Point(2)] }, new Map([["p", new Point(3)]])]) {
          const reason = encodingReason(yield* Effect.exit(ComputePool.execute(Echo, value)))
          assert.include(reason.message, "a Point instance would arrive as a plain object")
        }
        // Plain data, dates, maps, typed arrays and errors are fine.
        const fine = {
          when: new Date(0),
          tags: new Set(["a"]),
          data: new Uint8Array([1, 2]),
          error: new RangeError("r")
        }
        const back = yield* ComputePool.execute(Echo, fine)
        assert.deepStrictEqual((back as typeof fine).when, new Date(0))
        assert.strictEqual((back as typeof fine).error.message, "r")
      }))

    it.effect("huge and deeply nested values either round-trip or fail that call alone", () =>
      Effect.gen(function*() {
        const huge = "x".repeat(8 * 1024 * 1024)
        assert.strictEqual(((yield* ComputePool.execute(Echo, huge)) as string).length, huge.length)
        let deep: unknown = "bottom"
        for (let i = 0; i < 100_000; i++) deep = [deep]
        const exit = yield* Effect.exit(ComputePool.execute(Echo, deep))
        if (Exit.isFailure(exit)) assert.strictEqual(encodingReason(exit).direction, "payload")
        else {
          let level: unknown = exit.value
          let depth = 0
          while (Array.isArray(level)) {
            level = level[0]
            depth++
          }
          assert.strictEqual(depth, 100_000)
          assert.strictEqual(level, "bottom")
        }
        assert.strictEqual(yield* ComputePool.execute(Add, [1, 1]), 2)
      }))

    it.effect("schema-invalid payloads fail with EncodingError naming the task", () =>
      Effect.gen(function*() {
        const values = fc.sample(fc.anything().filter((v) => !Array.isArray(v) || v.length !== 2), {
          numRuns: 50,
          seed: 3
        })
        for (const value of values) {
          const reason = encodingReason(yield* Effect.exit(ComputePool.execute(Add, value as any)))
          assert.include(reason.message, `task "Add"`)
        }
      }))
  })
})

describe("ComputeWorker.serve given the wrong shape", () => {
  it("throws a TypeError that says what it takes, before anything else", () => {
    assert.throws(() => ComputeWorker.serve([Add] as never), /takes \{ tasks: \[\.\.\.\], layer\? \}: wrap the array/)
    assert.throws(() => ComputeWorker.serve({} as never), /not an object without a tasks array/)
  })

  it.live("in a worker entry, the pool fails to start with that message", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(
        Effect.scoped(
          Layer.build(
            ComputePool.layer({ entry: new URL("./fixtures/worker-bad-serve.ts", import.meta.url), threads: 1 })
          )
        )
      )
      assert.isTrue(Exit.isFailure(exit))
      const error = Cause.squash((exit as Exit.Failure<unknown, unknown>).cause) as ComputeError.ComputeError
      assert.strictEqual(error.reason._tag, "WorkerStartFailed")
      assert.match(error.message, /ComputeWorker\.serve takes \{ tasks: \[\.\.\.\], layer\? \}: wrap the array/)
    }))
})
