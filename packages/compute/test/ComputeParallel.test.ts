import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Stream } from "effect"
import { ComputeParallel, ComputePool } from "effect-compute"
import { AddPair, Double, DoubleEffect, DoubleInPlace, Negative, Square, SumView } from "./fixtures/tasks.ts"
import { reasonOf } from "./helpers.ts"

const entry = new URL("./fixtures/worker.ts", import.meta.url)

describe("ComputeParallel on real workers", () => {
  it.layer(ComputePool.layer({ entry, threads: 2 }))((it) => {
    it.effect("map returns results in order and sends items in chunks, not one message per item", () =>
      Effect.gen(function*() {
        const before = (yield* ComputePool.stats).submitted
        const items = Array.from({ length: 10_000 }, (_, i) => i)
        const results = yield* ComputeParallel.map(items, Double)
        assert.deepStrictEqual(results, items.map((i) => i * 2))
        // 10,000 items on 2 threads: about 8 chunks per thread.
        const chunks = (yield* ComputePool.stats).submitted - before
        assert.strictEqual(chunks, 16)
      }))

    it.effect("map honours chunkSize and runs Effect handlers item by item", () =>
      Effect.gen(function*() {
        const before = (yield* ComputePool.stats).submitted
        const results = yield* ComputeParallel.map([1, 2, 3, 4, 5, 6, 7], DoubleEffect, { chunkSize: 3 })
        assert.deepStrictEqual(results, [2, 4, 6, 8, 10, 12, 14])
        assert.strictEqual((yield* ComputePool.stats).submitted - before, 3)
        assert.deepStrictEqual(yield* ComputeParallel.map([], Double), [])
      }))

    it.effect("a chunk size of zero, negative or fractional is a clear error, not a hang", () =>
      Effect.gen(function*() {
        for (const chunkSize of [0, -3, 1.5]) {
          const reason = reasonOf(yield* Effect.exit(ComputeParallel.map([1, 2, 3], Double, { chunkSize })))
          assert.strictEqual(reason._tag, "InvalidOptions")
          assert.strictEqual(reason.message, `chunkSize = ${chunkSize} is invalid: it must be a positive integer`)
        }
        const stream = Stream.make(1, 2).pipe(ComputeParallel.stream(Double, { batchSize: 0 }))
        const reason = reasonOf(yield* Effect.exit(Stream.runCollect(stream)))
        assert.strictEqual(reason._tag, "InvalidOptions")
      }))

    it.effect("the first typed failure of any item fails the map", () =>
      Effect.gen(function*() {
        const exit = yield* Effect.exit(ComputeParallel.map([1, 2, -5, 4], Square, { chunkSize: 1 }))
        assert.isTrue(Exit.isFailure(exit))
        const error = Cause.squash((exit as Exit.Failure<unknown, unknown>).cause)
        assert.instanceOf(error, Negative)
        assert.strictEqual((error as Negative).n, -5)
      }))

    it.effect("reduce: the parallel sum of 0..999 is 499500, with a function or a task as the combine", () =>
      Effect.gen(function*() {
        const numbers = Array.from({ length: 1_000 }, (_, i) => i)
        const halves = yield* ComputeParallel.reduce(numbers, Double, 0, (a, b) => a + b)
        assert.strictEqual(halves / 2, 499_500)
        const onPool = yield* ComputeParallel.reduce(numbers, Double, 0, AddPair)
        assert.strictEqual(onPool / 2, 499_500)
      }))

    it.effect("mapUnordered streams every result as chunks finish", () =>
      Effect.gen(function*() {
        const items = Array.from({ length: 500 }, (_, i) => i)
        const results = yield* Stream.runCollect(ComputeParallel.mapUnordered(items, Double, { chunkSize: 25 }))
        assert.deepStrictEqual(results.toSorted((a, b) => a - b), items.map((i) => i * 2))
      }))

    it.effect("stream fans batches out to the pool and keeps the source's order", () =>
      Effect.gen(function*() {
        const ordered = yield* Stream.range(0, 999).pipe(
          ComputeParallel.stream(Double, { batchSize: 50, concurrency: 4 }),
          Stream.runCollect
        )
        assert.deepStrictEqual(ordered, Array.from({ length: 1_000 }, (_, i) => i * 2))
        const unordered = yield* Stream.range(0, 999).pipe(
          ComputeParallel.stream(Double, { batchSize: 50, ordered: false }),
          Stream.runCollect
        )
        assert.deepStrictEqual(unordered.toSorted((a, b) => a - b), ordered)
      }))

    it.effect("shared memory: views of a SharedArrayBuffer are summed and transformed in place by the workers", () =>
      Effect.gen(function*() {
        const length = 1_000_000
        const samples = ComputeParallel.shared(Float64Array, length)
        for (let i = 0; i < length; i++) samples[i] = i % 7
        const expected = samples.reduce((a, b) => a + b, 0)
        const parts = ComputeParallel.views(samples, 125_000)
        assert.strictEqual(parts.length, 8)
        assert.strictEqual(yield* ComputeParallel.reduce(parts, SumView, 0, (a, b) => a + b), expected)
        // Workers write into the same memory: the caller sees the doubled values without anything sent back.
        const touched = yield* ComputeParallel.map(parts, DoubleInPlace, { chunkSize: 1 })
        assert.strictEqual(touched.reduce((a, b) => a + b, 0), length)
        assert.strictEqual(samples[8], 2)
        assert.strictEqual(samples.reduce((a, b) => a + b, 0), 2 * expected)
      }))
  })

  it.effect("an ordinary ArrayBuffer can be moved to the worker instead of copied; the caller's copy is detached", () =>
    Effect.gen(function*() {
      const array = new Float64Array(1_000).fill(2)
      assert.strictEqual(yield* ComputePool.execute(SumView, array, { transfer: [array.buffer] }), 2_000)
      assert.strictEqual(array.buffer.byteLength, 0, "moved: nothing left here")
      assert.strictEqual(array.length, 0)
      // Moving it again fails that call alone: it is no longer this thread's to give.
      const again = reasonOf(yield* Effect.exit(ComputePool.execute(SumView, array, { transfer: [array.buffer] })))
      assert.strictEqual(again._tag, "EncodingError")
      assert.strictEqual(yield* ComputePool.execute(Double, 21), 42)
    }).pipe(Effect.provide(ComputePool.layer({ entry, threads: 1 }))))

  it("views rejects a bad chunk size with a message naming it", () => {
    assert.throws(() => ComputeParallel.views(new Float64Array(4), 0), /chunkSize = 0 is invalid/)
  })

  it.effect("map works the same on layerInline", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* ComputeParallel.map([1, 2, 3], Double), [2, 4, 6])
    }).pipe(Effect.provide(ComputePool.layerInline({ tasks: [Double] }))))
})
