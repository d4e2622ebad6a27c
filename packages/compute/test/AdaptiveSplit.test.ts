import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber } from "effect"
import { ComputePool } from "effect-compute"
import { Negative, NestedProbe, NestedSquares, Probe, Square } from "./fixtures/tasks.ts"
import { poll, reasonOf } from "./helpers.ts"

const entry = new URL("./fixtures/worker.ts", import.meta.url)

/** Every submitted task, pieces included, has exactly one outcome, and none is left active. */
const assertBalanced = (stats: ComputePool.PoolStats) => {
  const ended = stats.succeeded + stats.failed + stats.defects + stats.interrupted + stats.crashed + stats.rejected
  assert.strictEqual(stats.submitted, ended, JSON.stringify(stats))
  assert.strictEqual(stats.activeTasks, 0, JSON.stringify(stats))
}

interface ChunkRun {
  readonly workerId: number
  readonly chunk: number
  size: number
}

/** The chunk runs of a nested map, in item order, from what each item reported; each must be one run of items. */
const chunkRunsOf = (probes: ReadonlyArray<{ readonly workerId: number; readonly chunk: number }>) => {
  const runs: Array<ChunkRun> = []
  for (const probe of probes) {
    const last = runs.at(-1)
    if (last !== undefined && last.workerId === probe.workerId && last.chunk === probe.chunk) last.size++
    else runs.push({ workerId: probe.workerId, chunk: probe.chunk, size: 1 })
  }
  const distinct = new Set(runs.map((run) => `${run.workerId}:${run.chunk}`))
  assert.strictEqual(distinct.size, runs.length, "each chunk ran a contiguous range of the items")
  return runs
}

const squares = (items: ReadonlyArray<number>) => items.map((i) => i * i)

describe("adaptive splitting of a map inside a worker", () => {
  for (const threads of [1, 2]) {
    it.live(`a nested map and reduce give every result in order, as inline (${threads} thread(s))`, () =>
      Effect.gen(function*() {
        const items = Array.from({ length: 10_000 }, (_, i) => i)
        assert.deepStrictEqual(yield* ComputePool.execute(NestedSquares, { items, reduce: false }), squares(items))
        const sum = squares(items).reduce((a, b) => a + b, 0)
        assert.deepStrictEqual(yield* ComputePool.execute(NestedSquares, { items, reduce: true }), [sum])
        assert.deepStrictEqual(yield* ComputePool.execute(NestedSquares, { items: [], reduce: false }), [])
        assert.deepStrictEqual(yield* ComputePool.execute(NestedSquares, { items: [3], reduce: false }), [9])
        assertBalanced(yield* ComputePool.stats)
      }).pipe(Effect.provide(ComputePool.layer({ entry, threads }))))
  }

  it.live("pieces are stolen and split again: both workers run some, and no chunk is below minChunkSize", () =>
    Effect.gen(function*() {
      // Uneven items: the second half costs five times the first.
      const spins = Array.from({ length: 1_000 }, (_, i) => (i < 500 ? 20 : 100))
      const probes = yield* ComputePool.execute(NestedProbe, { spins, minChunkSize: 8 })
      assert.strictEqual(probes.length, spins.length)
      const runs = chunkRunsOf(probes)
      assert.strictEqual(new Set(runs.map((run) => run.workerId)).size, 2, JSON.stringify(runs))
      assert.isAbove(runs.length, 2, "the map split into pieces")
      for (const run of runs) assert.isAtLeast(run.size, 8, JSON.stringify(runs))
      assertBalanced(yield* ComputePool.stats)
    }).pipe(Effect.provide(ComputePool.layer({ entry, threads: 2 }))))

  it.live("fewer items than minChunkSize run as one chunk; an explicit chunkSize keeps fixed chunks", () =>
    Effect.gen(function*() {
      const few = chunkRunsOf(yield* ComputePool.execute(NestedProbe, { spins: [0, 0, 0, 0, 0], minChunkSize: 8 }))
      assert.deepStrictEqual(few.map((run) => run.size), [5])
      const spins = Array.from({ length: 100 }, () => 0)
      const fixed = chunkRunsOf(yield* ComputePool.execute(NestedProbe, { spins, chunkSize: 10 }))
      assert.deepStrictEqual(fixed.map((run) => run.size), Array.from({ length: 10 }, () => 10))
      assertBalanced(yield* ComputePool.stats)
    }).pipe(Effect.provide(ComputePool.layer({ entry, threads: 2 }))))

  it.live("a failing item fails the map with that item's failure, and the other pieces stop", () =>
    Effect.gen(function*() {
      const items = Array.from({ length: 2_000 }, (_, i) => (i === 1_537 ? -5 : i))
      const exit = yield* Effect.exit(ComputePool.execute(NestedSquares, { items, reduce: false }))
      assert.isTrue(Exit.isFailure(exit))
      const error = Cause.squash((exit as Exit.Failure<unknown, unknown>).cause)
      assert.instanceOf(error, Negative)
      assert.strictEqual((error as Negative).n, -5)
      const stats = yield* ComputePool.stats
      assert.isAtLeast(stats.failed, 2, "the failing piece and the pieces above it")
      assertBalanced(stats)
    }).pipe(Effect.provide(ComputePool.layer({ entry, threads: 2 }))))

  it.live("interrupting the root stops every piece, stolen ones in a busy loop included", () =>
    Effect.gen(function*() {
      // Every item spins until interrupted: each worker is stuck in a piece's loop until it hears it.
      const spins = Array.from({ length: 64 }, () => -1)
      const root = yield* Effect.forkChild(ComputePool.execute(NestedProbe, { spins }))
      // The root, its piece, halves and a leaf on each worker: well past three in flight.
      yield* poll(Effect.map(ComputePool.stats, (stats) => stats.activeTasks >= 4))
      yield* Fiber.interrupt(root)
      const stats = yield* ComputePool.stats
      assert.isAtLeast(stats.interrupted, 4)
      assert.strictEqual(stats.workerRestarts, 0, "every piece heard the interruption; no worker was killed")
      assertBalanced(stats)
      // The workers are free again.
      const items = Array.from({ length: 1_000 }, (_, i) => i)
      assert.deepStrictEqual(yield* ComputePool.execute(NestedSquares, { items, reduce: false }), squares(items))
      assertBalanced(yield* ComputePool.stats)
    }).pipe(Effect.provide(ComputePool.layer({ entry, threads: 2, interruptGracePeriod: "30 seconds" }))))

  it.live("a piece that kills its worker fails the map with WorkerCrashed; the worker is replaced", () =>
    Effect.gen(function*() {
      const spins = Array.from({ length: 1_000 }, (_, i) => (i === 900 ? -2 : 20))
      const exit = yield* Effect.exit(ComputePool.execute(NestedProbe, { spins }))
      assert.strictEqual(reasonOf(exit)._tag, "WorkerCrashed")
      yield* poll(Effect.map(ComputePool.stats, (stats) => stats.liveWorkers === 2 && stats.activeTasks === 0))
      const stats = yield* ComputePool.stats
      assert.isAtLeast(stats.crashed, 1)
      assert.strictEqual(stats.workerRestarts, 1)
      assertBalanced(stats)
      const items = Array.from({ length: 1_000 }, (_, i) => i)
      assert.deepStrictEqual(yield* ComputePool.execute(NestedSquares, { items, reduce: false }), squares(items))
      assertBalanced(yield* ComputePool.stats)
    }).pipe(Effect.provide(ComputePool.layer({ entry, threads: 2, interruptGracePeriod: "30 seconds" }))))

  it.effect("layerInline runs a nested map too, with fixed chunks on the calling thread", () =>
    Effect.gen(function*() {
      const items = Array.from({ length: 100 }, (_, i) => i)
      assert.deepStrictEqual(yield* ComputePool.execute(NestedSquares, { items, reduce: false }), squares(items))
      const probes = yield* ComputePool.execute(NestedProbe, { spins: [0, 0, 0], minChunkSize: 2 })
      assert.deepStrictEqual(probes.map((probe) => probe.workerId), [-1, -1, -1])
      const exit = yield* Effect.exit(ComputePool.execute(NestedSquares, { items: [1, -2, 3], reduce: false }))
      assert.instanceOf(Cause.squash((exit as Exit.Failure<unknown, unknown>).cause), Negative)
    }).pipe(Effect.provide(ComputePool.layerInline({ tasks: [NestedSquares, Square, NestedProbe, Probe] }))))
})
