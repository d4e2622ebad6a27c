/**
 * The tasks effect-compute runs in the benchmark.
 */
import { Effect, Schema } from "effect"
import { ComputeCluster, ComputeParallel, ComputePool, ComputeTask } from "effect-compute"
import { ends, fib, spin, sumRange } from "./workload.ts"

export const Noop = ComputeTask.make("Noop", {
  payload: Schema.Number,
  success: Schema.Number,
  handler: (n) => n
})

export const Spin = ComputeTask.make("Spin", {
  payload: Schema.Number,
  success: Schema.Number,
  handler: spin
})

/** Sums a view of a Float64Array: shared memory when the view is over a SharedArrayBuffer, a copy otherwise. */
export const SumView = ComputeTask.make("SumView", {
  payload: Schema.instanceOf(Float64Array),
  success: Schema.Number,
  handler: (view) => {
    let sum = 0
    for (let i = 0; i < view.length; i++) sum += view[i]!
    return sum
  }
})

/**
 * The payload-copy row's task: `ends` of a Float64Array (two reads). The payload is cloned to the worker, so the
 * copy, not the handler, is what a call costs.
 */
export const ArrayEnds = ComputeTask.make("ArrayEnds", {
  payload: Schema.instanceOf(Float64Array),
  success: Schema.Number,
  handler: ends
})

/** Fork-join Fibonacci: both halves go back to the pool until n reaches the cutoff. */
export const ParallelFib: ComputeTask.ComputeTask<
  "ParallelFib",
  Schema.Tuple<readonly [typeof Schema.Number, typeof Schema.Number]>,
  typeof Schema.Number,
  Schema.Never,
  ComputePool.ComputePool
> = ComputeTask.make("ParallelFib", {
  payload: Schema.Tuple([Schema.Number, Schema.Number]),
  success: Schema.Number,
  handler: ([n, cutoff]) =>
    n <= cutoff
      ? Effect.succeed(fib(n))
      : Effect.map(
        ComputePool.join(
          ComputePool.execute(ParallelFib, [n - 1, cutoff]),
          ComputePool.execute(ParallelFib, [n - 2, cutoff])
        ),
        ([a, b]) => a + b
      )
})

/**
 * Fork-join sum of `sumRange(lo, hi, iterations)`: the range is split in two halves, each a subtask, until it has at
 * most `grain` items, which the leaf sums itself. `[lo, hi, grain, iterations]`.
 */
export const ForkSum: ComputeTask.ComputeTask<
  "ForkSum",
  Schema.Tuple<readonly [typeof Schema.Number, typeof Schema.Number, typeof Schema.Number, typeof Schema.Number]>,
  typeof Schema.Number,
  Schema.Never,
  ComputePool.ComputePool
> = ComputeTask.make("ForkSum", {
  payload: Schema.Tuple([Schema.Number, Schema.Number, Schema.Number, Schema.Number]),
  success: Schema.Number,
  handler: ([lo, hi, grain, iterations]) => {
    if (hi - lo <= grain) return Effect.succeed(sumRange(lo, hi, iterations))
    const middle = lo + Math.ceil((hi - lo) / 2)
    return Effect.map(
      ComputePool.join(
        ComputePool.execute(ForkSum, [lo, middle, grain, iterations]),
        ComputePool.execute(ForkSum, [middle, hi, grain, iterations])
      ),
      ([a, b]) => a + b
    )
  }
})

/**
 * Spawns `n` no-op subtasks one after another from inside a worker and joins each: what one subtask costs a task that
 * forks (today a round trip through the main thread).
 */
export const SpawnNoops: ComputeTask.ComputeTask<
  "SpawnNoops",
  typeof Schema.Number,
  typeof Schema.Number,
  Schema.Never,
  ComputePool.ComputePool
> = ComputeTask.make("SpawnNoops", {
  payload: Schema.Number,
  success: Schema.Number,
  handler: (n) =>
    Effect.gen(function*() {
      let sum = 0
      for (let i = 0; i < n; i++) sum += yield* ComputePool.execute(Noop, 1)
      return sum
    })
})

/**
 * A map from inside a worker: `ComputeParallel.map` of Spin over `count` items of `iterations` each, run by one task's
 * handler (the nested pool, where idle workers steal), answering with the sum of the results. `[count, iterations]`.
 */
export const NestedMap: ComputeTask.ComputeTask<
  "NestedMap",
  Schema.Tuple<readonly [typeof Schema.Number, typeof Schema.Number]>,
  typeof Schema.Number,
  Schema.Never,
  ComputePool.ComputePool
> = ComputeTask.make("NestedMap", {
  payload: Schema.Tuple([Schema.Number, Schema.Number]),
  success: Schema.Number,
  handler: ([count, iterations]) =>
    Effect.map(
      ComputeParallel.map(Array.from({ length: count }, () => iterations), Spin),
      (results) => results.reduce((sum, x) => sum + x, 0)
    )
})

/** The process that ran the call: how the cluster pools' warm-up knows every runner is answering. */
export const Pid = ComputeTask.make("Pid", {
  payload: Schema.Number,
  success: Schema.Number,
  handler: () => process.pid
})

/** What the cluster pools' runners host (bench/workers/cluster-runner.ts). */
export const BenchCluster = ComputeCluster.make("Bench", [Noop, Spin, Pid])
