/**
 * The pools under test, each behind the same small interface so every benchmark drives them the same way, and the
 * registry a case picks its pool from.
 *
 * Promise-based pools (Piscina, tinypool, the raw pool) are driven by plain async loops (bench/promisePools.ts);
 * effect-compute and Effect's RPC worker pool are driven the way an Effect program would use them, calls inside
 * `Effect.forEach` with a concurrency bound (bench/effectPools.ts); the cluster rows by effect-compute's cluster client
 * (bench/clusterPool.ts). Each case is a process of its own and loads only its pool's module: a Piscina case loads no
 * Effect, and only the cluster rows load the cluster.
 */
/** `op` 0 is a no-op echo of `n`; `op` 1 spins `n` iterations. */
export type Op = 0 | 1

/** A task of the Piscina and tinypool workers: an op above, or `op` 2, the payload-copy row's `ends(array)`. */
export type Task = { readonly op: Op; readonly n: number } | {
  readonly op: 2
  readonly array: Float64Array<ArrayBuffer>
}

/** A message to a raw or effect-workers worker: `[id, op, n]`, or `[id, 2, array]` (payload-copy; raw only). */
export type RawMessage = [id: number, op: Op, n: number] | [id: number, op: 2, array: Float64Array<ArrayBuffer>]

export interface BenchPool {
  /** Calls one after another, each waiting for the previous. */
  readonly sequential: (count: number) => Promise<void>
  /** `count` calls with at most `window` in flight (`Infinity`: all submitted at once). */
  readonly windowed: (count: number, window: number, op: Op, n: number) => Promise<void>
  /** Spins `iterations` for each of `count` items, as a data-parallel map (each pool its own best way). */
  readonly map: (count: number, iterations: number) => Promise<void>
  /**
   * `count` calls of `ends(array)`, each sending its array by structured clone (no transfer, no shared memory), one
   * call in flight per array of `arrays` (so `arrays.length` in flight); returns the sum of their results.
   */
  readonly copy?: (arrays: ReadonlyArray<Float64Array<ArrayBuffer>>, count: number) => Promise<number>
  /**
   * `count` calls of `ends(array)` with `inFlight` at a time, each on a fresh array of {@link movedLength} doubles
   * whose buffer is moved to the worker (a transfer list: no copy, the caller's array is detached); returns the sum of
   * their results.
   */
  readonly moved?: (count: number, inFlight: number) => Promise<number>
  /** Sums an array split in `parts`: views of shared memory, or copies of the parts. */
  readonly sum?: (array: Float64Array, parts: number) => Promise<number>
  /** Fork-join Fibonacci of `n`, forking until `cutoff`. */
  readonly fib?: (n: number, cutoff: number) => Promise<number>
  /** Fork-join sum of `sumRange(0, items, iterations)`, splitting the range in halves down to `grain` items. */
  readonly forkSum?: (items: number, grain: number, iterations: number) => Promise<number>
  /** One task whose handler maps Spin over `count` items of `iterations` each (`ComputeParallel.map` in a worker). */
  readonly nestedMap?: (count: number, iterations: number) => Promise<number>
  /** One task that spawns and joins `count` no-op subtasks, one after another, from inside its worker. */
  readonly subtasks?: (count: number) => Promise<number>
  /**
   * Spins `iterations` for each of `count` tasks on the calling thread, yielding to the event loop between tasks: the
   * best an inline program can do for its event-loop delay. Only the inline pool has it.
   */
  readonly interleaved?: (count: number, iterations: number) => Promise<void>
  readonly close: () => Promise<void>
}

/** What an effect-compute pool may change from its defaults (the `ec-*` columns). */
export interface EffectComputeVariant {
  readonly tracing?: boolean
  readonly metrics?: boolean
  readonly idleSpin?: number
  readonly maxInFlightPerWorker?: number
}

/** A pool made by a module loaded only when a case asks for that pool. */
const lazy =
  <Module>(load: () => Promise<Module>, make: (module: Module, threads: number) => Promise<BenchPool>) =>
  async (threads: number): Promise<BenchPool> => make(await load(), threads)

const promisePools = () => import("./promisePools.ts")
const effectPools = () => import("./effectPools.ts")
const clusterPool = () => import("./clusterPool.ts")
const effectCompute = (variant: EffectComputeVariant = {}) =>
  lazy(effectPools, (module, threads) => module.effectCompute(threads, variant))

export const pools = {
  "effect-compute": effectCompute(),
  "ec-traced": effectCompute({ tracing: true }),
  "ec-no-metrics": effectCompute({ metrics: false }),
  "ec-no-spin": effectCompute({ idleSpin: 0 }),
  "ec-64-in-flight": effectCompute({ maxInFlightPerWorker: 64 }),
  piscina: lazy(promisePools, (module, threads) => module.piscina(threads)),
  tinypool: lazy(promisePools, (module, threads) => module.tinypool(threads)),
  "effect-rpc": lazy(effectPools, (module, threads) => module.effectRpc(threads)),
  raw: lazy(promisePools, (module, threads) => module.raw(threads)),
  "effect-workers": lazy(effectPools, (module, threads) => module.effectWorkers(threads)),
  inline: lazy(promisePools, (module) => module.inline()),
  "cluster-1": lazy(clusterPool, (module, threads) => module.effectCluster(1)(threads)),
  "cluster-2": lazy(clusterPool, (module, threads) => module.effectCluster(2)(threads)),
  "cluster-3": lazy(clusterPool, (module, threads) => module.effectCluster(3)(threads))
} as const

export type PoolName = keyof typeof pools
