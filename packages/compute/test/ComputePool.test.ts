import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Layer } from "effect"
import { ComputeError, ComputePool } from "effect-compute"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import {
  Add,
  AsyncDouble,
  Echo,
  Negative,
  Sleep,
  Square,
  StackOverflow,
  Throw,
  UnsendableResult,
  Unserved,
  UseResource,
  WrongResult
} from "./fixtures/tasks.ts"

const entry = new URL("./fixtures/worker.ts", import.meta.url)
const Pool = ComputePool.layer({ entry, threads: 2 })

const failureOf = <A, E>(exit: Exit.Exit<A, E>): E => {
  assert.isTrue(Exit.isFailure(exit), "expected a failure")
  const error = Cause.findErrorOption((exit as Exit.Failure<A, E>).cause)
  assert.strictEqual(error._tag, "Some", `expected a typed failure, got ${Cause.pretty((exit as any).cause)}`)
  return (error as any).value
}

const computeReasonOf = <A, E>(exit: Exit.Exit<A, E>) => {
  const error = failureOf(exit)
  assert.isTrue(ComputeError.isComputeError(error), `expected a ComputeError, got ${String(error)}`)
  return (error as ComputeError.ComputeError).reason
}

describe("ComputePool on real workers", () => {
  it.layer(Pool)((it) => {
    it.effect("executes a task and returns its decoded result", () =>
      Effect.gen(function*() {
        assert.strictEqual(yield* ComputePool.execute(Add, [2, 3]), 5)
        assert.strictEqual(yield* ComputePool.execute(AsyncDouble, 21), 42)
        assert.strictEqual(yield* ComputePool.execute(Square, 7), 49)
      }))

    it.effect("join runs two tasks and returns both results", () =>
      Effect.gen(function*() {
        const [sum, product] = yield* ComputePool.join(
          ComputePool.execute(Add, [2, 2]),
          ComputePool.execute(Square, 3)
        )
        assert.deepStrictEqual([sum, product], [4, 9])
      }))

    it.effect("many concurrent calls each get their own result, in order", () =>
      Effect.gen(function*() {
        const inputs = Array.from({ length: 2_000 }, (_, i) => i)
        const results = yield* Effect.all(inputs.map((i) => ComputePool.execute(Add, [i, i])), {
          concurrency: "unbounded"
        })
        assert.deepStrictEqual(results, inputs.map((i) => 2 * i))
      }))

    it.effect("a typed failure is decoded back into its class", () =>
      Effect.gen(function*() {
        const error = failureOf(yield* Effect.exit(ComputePool.execute(Square, -4)))
        assert.instanceOf(error, Negative)
        assert.strictEqual((error as Negative).n, -4)
      }))

    it.effect("a thrown error is a defect carrying the worker-side name, message and stack", () =>
      Effect.gen(function*() {
        const exit = yield* Effect.exit(ComputePool.execute(Throw, "bad input"))
        assert.isTrue(Exit.isFailure(exit))
        const defect = Cause.squash((exit as Exit.Failure<unknown, unknown>).cause) as ComputeError.TaskDefect
        assert.instanceOf(defect, ComputeError.TaskDefect)
        assert.strictEqual(defect.errorName, "RangeError")
        assert.strictEqual(defect.message, "bad input")
        assert.strictEqual(defect.task, "Throw")
        assert.include(defect.workerStack ?? "", "tasks.ts")
      }))

    it.effect("a stack overflow is that task's defect and the worker keeps serving", () =>
      Effect.gen(function*() {
        const before = yield* ComputePool.stats
        const exit = yield* Effect.exit(ComputePool.execute(StackOverflow, undefined))
        const defect = Cause.squash((exit as Exit.Failure<unknown, unknown>).cause) as ComputeError.TaskDefect
        assert.strictEqual(defect.errorName, "RangeError")
        assert.include(defect.message, "call stack")
        assert.strictEqual(yield* ComputePool.execute(Add, [1, 1]), 2)
        const after = yield* ComputePool.stats
        assert.strictEqual(after.workerRestarts, before.workerRestarts)
      }))

    it.effect("a payload that cannot be cloned fails that call with EncodingError, and the pool keeps working", () =>
      Effect.gen(function*() {
        const reason = computeReasonOf(yield* Effect.exit(ComputePool.execute(Echo, { callback: () => 1 })))
        assert.strictEqual(reason._tag, "EncodingError")
        assert.include(reason.message, "Echo")
        assert.include(reason.message, "could not be sent")
        // A bad payload in the same tick as good ones fails alone.
        const [bad, good] = yield* Effect.all([
          Effect.exit(ComputePool.execute(Echo, Symbol("no"))),
          ComputePool.execute(Echo, { fine: [1, 2, 3] })
        ], { concurrency: "unbounded" })
        assert.strictEqual(computeReasonOf(bad)._tag, "EncodingError")
        assert.deepStrictEqual(good, { fine: [1, 2, 3] })
      }))

    it.effect("a payload that fails its schema is an EncodingError naming the task", () =>
      Effect.gen(function*() {
        const reason = computeReasonOf(yield* Effect.exit(ComputePool.execute(Add, ["2", 3] as any)))
        assert.strictEqual(reason._tag, "EncodingError")
        assert.include(reason.message, "Add")
        assert.strictEqual((reason as ComputeError.EncodingError).direction, "payload")
      }))

    it.effect("a result that cannot be sent back or does not match its schema is an EncodingError", () =>
      Effect.gen(function*() {
        const unsendable = computeReasonOf(yield* Effect.exit(ComputePool.execute(UnsendableResult, undefined)))
        assert.strictEqual(unsendable._tag, "EncodingError")
        assert.strictEqual((unsendable as ComputeError.EncodingError).direction, "result")
        const wrong = computeReasonOf(yield* Effect.exit(ComputePool.execute(WrongResult, undefined)))
        assert.strictEqual(wrong._tag, "EncodingError")
        assert.include(wrong.message, "WrongResult")
        assert.strictEqual(yield* ComputePool.execute(Add, [1, 2]), 3)
      }))

    it.effect("a task the entry does not serve fails with TaskNotServed", () =>
      Effect.gen(function*() {
        const reason = computeReasonOf(yield* Effect.exit(ComputePool.execute(Unserved, undefined)))
        assert.strictEqual(reason._tag, "TaskNotServed")
        assert.include(reason.message, "Unserved")
      }))

    it.effect("the per-worker Layer is built once per worker, not per task", () =>
      Effect.gen(function*() {
        const seen = yield* Effect.all(Array.from({ length: 200 }, () => ComputePool.execute(UseResource, undefined)), {
          concurrency: "unbounded"
        })
        for (const result of seen) {
          assert.strictEqual(result.builds, 1)
          assert.strictEqual(result.tag, "built-once")
        }
        assert.isAtLeast(new Set(seen.map((result) => result.workerId)).size, 1)
      }))

    it.effect("Effect handlers run with the Effect runtime inside the worker", () =>
      Effect.gen(function*() {
        assert.strictEqual(yield* ComputePool.execute(Sleep, 5), "slept")
      }))
  })

  it.effect("a per-worker Layer that fails makes the pool's Layer fail with that cause", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(
        Layer.build(ComputePool.layer({ entry: new URL("./fixtures/worker-failing-layer.ts", import.meta.url) }))
          .pipe(Effect.scoped)
      )
      const reason = computeReasonOf(exit)
      assert.strictEqual(reason._tag, "WorkerStartFailed")
      assert.include(reason.message, "the model file is missing")
    }))

  it.effect("a worker entry that throws on import makes the pool's Layer fail with that cause", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(
        Layer.build(ComputePool.layer({ entry: new URL("./fixtures/worker-throwing-import.ts", import.meta.url) }))
          .pipe(Effect.scoped)
      )
      const reason = computeReasonOf(exit)
      assert.strictEqual(reason._tag, "WorkerStartFailed")
      assert.include(reason.message, "this module cannot be loaded")
    }))

  it.effect("a worker entry with a syntax error makes the pool's Layer fail with that cause", () =>
    Effect.gen(function*() {
      const broken = join(mkdtempSync(join(tmpdir(), "broken-entry-")), "worker.mjs")
      writeFileSync(broken, "export const = 'not JavaScript'\n")
      const exit = yield* Effect.exit(Layer.build(ComputePool.layer({ entry: broken })).pipe(Effect.scoped))
      const reason = computeReasonOf(exit)
      assert.strictEqual(reason._tag, "WorkerStartFailed")
      assert.include(reason.message, "Unexpected token '='")
    }))

  it.effect("bad options fail the Layer with a message naming the key, the value and the rule", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(Layer.build(ComputePool.layer({ entry, threads: 0 })).pipe(Effect.scoped))
      const reason = computeReasonOf(exit)
      assert.strictEqual(reason._tag, "InvalidOptions")
      assert.strictEqual(reason.message, "threads = 0 is invalid: it must be a positive integer")
    }))

  it("defaultThreads is half the cores clamped to 2..16, never more than the cores", () => {
    assert.deepStrictEqual([1, 2, 3, 4, 8, 16, 32, 64].map((cores) => ComputePool.defaultThreads(cores)), [
      1,
      2,
      2,
      2,
      4,
      8,
      16,
      16
    ])
  })
})
