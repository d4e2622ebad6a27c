/**
 * The pools under test, each behind the same small interface so every benchmark drives them the same way.
 *
 * Promise-based pools (Piscina, tinypool, the raw pool) are driven by plain async loops; effect-compute and Effect's
 * RPC worker pool are driven the way an Effect program would use them: calls inside `Effect.forEach` with a
 * concurrency bound.
 */
// Modules, not package barrels: the barrels load far more than these (platform-node's alone adds ~0.4 s to each case).
import * as NodeWorker from "@effect/platform-node/NodeWorker"
import { Context, Effect, Exit, Layer, ManagedRuntime, Scope, Tracer } from "effect"
import { ComputeParallel, ComputePool } from "effect-compute"
import * as RpcClient from "effect/rpc/RpcClient"
import type * as RpcClientError from "effect/rpc/RpcClientError"
import * as EffectWorker from "effect/workers/Worker"
import { fileURLToPath } from "node:url"
import { type Transferable, Worker } from "node:worker_threads"
import { Piscina } from "piscina"
import { Tinypool } from "tinypool"
import { fastFailover, layerClient } from "../packages/compute/test/cluster/fixtures/cluster.ts"
import { DatabaseService, layerDatabase } from "../packages/compute/test/cluster/fixtures/postgres.ts"
import { layerRunners } from "../packages/compute/test/cluster/fixtures/processes.ts"
import { BenchRpcs } from "./rpcs.ts"
import {
  ArrayEnds,
  BenchCluster,
  ForkSum,
  NestedMap,
  Noop,
  ParallelFib,
  Pid,
  SpawnNoops,
  Spin,
  SumView
} from "./tasks.ts"
import { fib, spin, sumRange } from "./workload.ts"

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

const workerUrl = (name: string) => new URL(`./workers/${name}.ts`, import.meta.url)

/** Drives a promise-returning call with a bounded number in flight. */
const windowedPromises = async (
  call: (op: Op, n: number) => Promise<unknown>,
  count: number,
  window: number,
  op: Op,
  n: number
) => {
  if (window >= count) {
    const all: Array<Promise<unknown>> = []
    for (let i = 0; i < count; i++) all.push(call(op, n))
    await Promise.all(all)
    return
  }
  let started = 0
  const runner = async () => {
    while (started < count) {
      started++
      await call(op, n)
    }
  }
  await Promise.all(Array.from({ length: window }, runner))
}

/**
 * `count` calls of `call`, one runner per array, each sending its own array and waiting for the answer before it sends
 * again; the sum of their results. No array is in two calls at once: two in one message (effect-compute batches) would
 * be cloned once, the second sent as a reference to the first.
 */
const perArray = async (
  call: (array: Float64Array<ArrayBuffer>) => Promise<number>,
  arrays: ReadonlyArray<Float64Array<ArrayBuffer>>,
  count: number
) => {
  let started = 0
  let sum = 0
  await Promise.all(arrays.map(async (array) => {
    while (started < count) {
      started++
      // Not `sum += await call(array)`: that reads `sum` before the await, and the runners would overwrite each other.
      const result = await call(array)
      sum += result
    }
  }))
  return sum
}

/** The moved-payload row's arrays: 1 MiB of doubles, made fresh for each call. */
export const movedLength = 131_072

/** A fresh array for one moved call: zeroed by the engine, its two ends set, so a call that read nothing is caught. */
const freshArray = (): Float64Array<ArrayBuffer> => {
  const array = new Float64Array(movedLength)
  array[0] = 1
  array[movedLength - 1] = movedLength
  return array
}

/** `count` calls of `call` on fresh arrays, `inFlight` at a time; the sum of their results. */
const perFreshArray = async (
  call: (array: Float64Array<ArrayBuffer>) => Promise<number>,
  count: number,
  inFlight: number
) => {
  let started = 0
  let sum = 0
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (started < count) {
      started++
      const result = await call(freshArray())
      sum += result
    }
  }))
  return sum
}

/** {@link perArray} for calls that are Effects: one fiber per array. */
const perArrayEffect = <E, R>(
  call: (array: Float64Array<ArrayBuffer>) => Effect.Effect<number, E, R>,
  arrays: ReadonlyArray<Float64Array<ArrayBuffer>>,
  count: number
) =>
  Effect.suspend(() => {
    let started = 0
    let sum = 0
    return Effect.map(
      Effect.forEach(arrays, (array) =>
        Effect.gen(function*() {
          while (started < count) {
            started++
            const result = yield* call(array)
            sum += result
          }
        }), { concurrency: "unbounded", discard: true }),
      () => sum
    )
  })

const promisePool = (call: (op: Op, n: number) => Promise<unknown>, close: () => Promise<void>): BenchPool => ({
  sequential: async (count) => {
    for (let i = 0; i < count; i++) await call(0, i)
  },
  windowed: (count, window, op, n) => windowedPromises(call, count, window, op, n),
  // One task per item: what these pools offer for a map.
  map: (count, iterations) => windowedPromises(call, count, 1_000, 1, iterations),
  close
})

/** A tracer that keeps nothing: tracing is on (a span per task, context sent to workers) at the least cost. */
const discardingTracer = Tracer.make({ span: (options) => Tracer.nativeTracer.span(options) })

export const effectCompute = async (
  threads: number,
  variant: {
    readonly tracing?: boolean
    readonly metrics?: boolean
    readonly idleSpin?: number
    readonly maxInFlightPerWorker?: number
  } = {}
): Promise<BenchPool> => {
  const layer = ComputePool.layer({
    entry: workerUrl("effect-compute"),
    threads,
    ...(variant.metrics === false ? { metrics: false } : {}),
    ...(variant.idleSpin === undefined ? {} : { idleSpin: variant.idleSpin }),
    ...(variant.maxInFlightPerWorker === undefined ? {} : { maxInFlightPerWorker: variant.maxInFlightPerWorker })
  })
  const runtime = ManagedRuntime.make(
    variant.tracing === true ? layer.pipe(Layer.provideMerge(Layer.succeed(Tracer.Tracer, discardingTracer))) : layer
  )
  const pool = await runtime.runPromise(ComputePool.ComputePool.useSync((service) => service))
  return {
    sequential: (count) =>
      runtime.runPromise(Effect.gen(function*() {
        for (let i = 0; i < count; i++) yield* pool.execute(Noop, i)
      })),
    windowed: (count, window, op, n) => {
      const items = Array.from({ length: count }, () => n)
      return runtime.runPromise(
        Effect.forEach(items, (payload) => (op === 0 ? pool.execute(Noop, payload) : pool.execute(Spin, payload)), {
          concurrency: Number.isFinite(window) ? window : "unbounded",
          discard: true
        })
      )
    },
    map: (count, iterations) =>
      runtime.runPromise(
        Effect.asVoid(ComputeParallel.map(Array.from({ length: count }, () => iterations), Spin))
      ),
    // Over shared memory, views cost a few bytes each to send; otherwise each part is sliced (copied) so that only
    // that part, not the whole buffer behind a view, is cloned into the worker.
    sum: (array, parts) => {
      const size = Math.ceil(array.length / parts)
      const pieces = array.buffer instanceof SharedArrayBuffer
        ? ComputeParallel.views(array, size)
        : ComputeParallel.views(array, size).map((view) => view.slice())
      return runtime.runPromise(
        ComputeParallel.reduce(pieces as Array<Float64Array<ArrayBuffer>>, SumView, 0, (a, b) => a + b, {
          chunkSize: 1
        })
      )
    },
    copy: (arrays, count) =>
      runtime.runPromise(perArrayEffect((array) => pool.execute(ArrayEnds, array), arrays, count)),
    moved: (count, inFlight) =>
      perFreshArray(
        (array) => runtime.runPromise(pool.execute(ArrayEnds, array, { transfer: [array.buffer] })),
        count,
        inFlight
      ),
    fib: (n, cutoff) => runtime.runPromise(pool.execute(ParallelFib, [n, cutoff])),
    forkSum: (items, grain, iterations) => runtime.runPromise(pool.execute(ForkSum, [0, items, grain, iterations])),
    subtasks: (count) => runtime.runPromise(pool.execute(SpawnNoops, count)),
    nestedMap: (count, iterations) => runtime.runPromise(pool.execute(NestedMap, [count, iterations])),
    close: () => runtime.dispose()
  }
}

/** Piscina and tinypool, whose `run` takes a task and, optionally, a transfer list. */
interface RunsTasks {
  readonly run: (task: Task, options?: { readonly transferList?: Array<ArrayBuffer> }) => Promise<number>
  readonly destroy: () => Promise<void>
}

const taskPool = (pool: RunsTasks): BenchPool => ({
  ...promisePool((op, n) => pool.run({ op, n } satisfies Task), () => pool.destroy()),
  copy: (arrays, count) => perArray((array) => pool.run({ op: 2, array } satisfies Task), arrays, count),
  moved: (count, inFlight) =>
    perFreshArray(
      (array) => pool.run({ op: 2, array } satisfies Task, { transferList: [array.buffer] }),
      count,
      inFlight
    )
})

export const piscina = async (threads: number): Promise<BenchPool> => {
  const pool = new Piscina({ filename: workerUrl("piscina").href, minThreads: threads, maxThreads: threads })
  // Piscina starts workers lazily: run one task per thread so startup is not timed.
  await Promise.all(Array.from({ length: threads * 2 }, () => pool.run({ op: 0, n: 0 })))
  return taskPool(pool)
}

export const tinypool = async (threads: number): Promise<BenchPool> => {
  const pool = new Tinypool({ filename: workerUrl("tinypool").href, minThreads: threads, maxThreads: threads })
  // Like Piscina: one task per thread first, so worker startup is not timed.
  await Promise.all(Array.from({ length: threads * 2 }, () => pool.run({ op: 0, n: 0 })))
  return taskPool(pool)
}

/** The client of the benchmark's RPC group, held by the "effect-rpc" pool's runtime. */
class BenchRpcClient
  extends Context.Service<BenchRpcClient, RpcClient.FromGroup<typeof BenchRpcs, RpcClientError.RpcClientError>>()(
    "bench/BenchRpcClient"
  )
{}

/**
 * Effect's own RPC worker pool: `RpcClient.layerProtocolWorker` over @effect/platform-node workers that run
 * `RpcServer.layerProtocolWorkerRunner`. Left at its defaults: one request in flight per worker, as Piscina's.
 */
export const effectRpc = async (threads: number): Promise<BenchPool> => {
  const runtime = ManagedRuntime.make(
    Layer.effect(BenchRpcClient, RpcClient.make(BenchRpcs)).pipe(
      Layer.provide(RpcClient.layerProtocolWorker({ size: threads })),
      Layer.provide(NodeWorker.layer(() => new Worker(workerUrl("effect-rpc"))))
    )
  )
  const client = await runtime.runPromise(BenchRpcClient.useSync((service) => service))
  const call = (op: Op, n: number) => (op === 0 ? client.Noop(n) : client.Spin(n))
  const windowed = (count: number, window: number, op: Op, n: number) =>
    runtime.runPromise(
      Effect.forEach(Array.from({ length: count }, () => n), (payload) => call(op, payload), {
        concurrency: Number.isFinite(window) ? window : "unbounded",
        discard: true
      })
    )
  // The pool spawns its workers at once; a call per thread waits until each one has started its server.
  await windowed(threads * 2, Infinity, 0, 0)
  return {
    sequential: (count) =>
      runtime.runPromise(Effect.gen(function*() {
        for (let i = 0; i < count; i++) yield* client.Noop(i)
      })),
    windowed,
    // One call per item, like the other promise pools: the RPC pool has no batched map.
    map: (count, iterations) => windowed(count, 1_000, 1, iterations),
    copy: (arrays, count) => runtime.runPromise(perArrayEffect((array) => client.ArrayEnds(array), arrays, count)),
    close: () => runtime.dispose()
  }
}

/**
 * Round-robin dispatch with results matched by id, shared by the raw pool and the effect-workers pool: `send` posts
 * `[id, op, n]` (or `[id, 2, array]`) to worker `index`; whoever receives `[id, value]` passes it to `settle`.
 */
const roundRobin = (
  threads: number,
  send: (index: number, message: RawMessage, transfer?: ReadonlyArray<Transferable>) => void
) => {
  const pending = new Map<number, (value: number) => void>()
  let nextId = 0
  let nextWorker = 0
  const post = (message: (id: number) => RawMessage, transfer?: ReadonlyArray<Transferable>) =>
    new Promise<number>((resolve) => {
      const id = nextId++
      pending.set(id, resolve)
      send(nextWorker, message(id), transfer)
      nextWorker = (nextWorker + 1) % threads
    })
  const call = (op: Op, n: number) => post((id) => [id, op, n])
  const copy = (array: Float64Array<ArrayBuffer>) => post((id) => [id, 2, array])
  const move = (array: Float64Array<ArrayBuffer>) => post((id) => [id, 2, array], [array.buffer])
  const settle = (id: number, value: number) => {
    const resolve = pending.get(id)!
    pending.delete(id)
    resolve(value)
  }
  // One call per worker and then some, so that startup is not timed.
  const warmUp = () => Promise.all(Array.from({ length: threads * 2 }, () => call(0, 0)))
  return { call, copy, move, settle, warmUp }
}

/** A minimal worker_threads pool: round-robin dispatch, one message per task, results matched by id. */
export const raw = async (threads: number): Promise<BenchPool> => {
  const workers = Array.from({ length: threads }, () => new Worker(workerUrl("raw")))
  const dispatch = roundRobin(threads, (index, message, transfer) => workers[index]!.postMessage(message, transfer))
  for (const worker of workers) worker.on("message", ([id, value]: [number, number]) => dispatch.settle(id, value))
  await Promise.all(workers.map((worker) => new Promise((resolve) => worker.once("online", resolve))))
  await dispatch.warmUp()
  return {
    ...promisePool(dispatch.call, async () => {
      await Promise.all(workers.map((worker) => worker.terminate()))
    }),
    copy: (arrays, count) => perArray(dispatch.copy, arrays, count),
    moved: (count, inFlight) => perFreshArray(dispatch.move, count, inFlight)
  }
}

/**
 * Effect's own worker platform (effect/workers + @effect/platform-node NodeWorker): the seam effect-compute spawns
 * through. Measured to decide whether the dispatch path can use it too: it runs one fiber per incoming message.
 * Round-robin over `threads` workers, results matched by id, like the raw pool.
 */
export const effectWorkers = async (threads: number): Promise<BenchPool> => {
  const scope = Effect.runSync(Scope.make())
  let workers: ReadonlyArray<EffectWorker.Worker<[number, number], RawMessage>> = []
  const dispatch = roundRobin(threads, (index, message) => Effect.runSync(workers[index]!.send(message)))
  workers = await Effect.runPromise(
    Effect.gen(function*() {
      const platform = yield* EffectWorker.WorkerPlatform
      return yield* Effect.forEach(Array.from({ length: threads }, (_, i) => i), (id) =>
        Effect.gen(function*() {
          const worker = yield* platform.spawn<[number, number], RawMessage>(id)
          yield* Effect.forkIn(
            worker.run(([requestId, value]) => Effect.sync(() => dispatch.settle(requestId, value))),
            scope
          )
          return worker
        }))
    }).pipe(Effect.provide(NodeWorker.layer(() => new Worker(workerUrl("effect-workers")))))
  )
  await dispatch.warmUp()
  return promisePool(dispatch.call, () => Effect.runPromise(Scope.close(scope, Exit.void)))
}

/**
 * effect-compute's cluster client (`ComputeCluster.layerClient`) over `runners` runner processes of `threads` workers
 * each, on 127.0.0.1, sharing state in a Postgres this pool starts (embedded, or DATABASE_URL's server): the client
 * side driven as an Effect program would, like effect-compute. Startup (Postgres, runners, shard acquisition) is not
 * timed: the pool is ready once every runner has answered.
 */
export const effectCluster = (runners: number) => async (threads: number): Promise<BenchPool> => {
  const names = Array.from({ length: runners }, (_, i) => `runner-${i + 1}`)
  const runnerEntry = fileURLToPath(new URL("./workers/cluster-runner.ts", import.meta.url))
  const client = Layer.unwrap(Effect.map(
    Effect.service(DatabaseService),
    ({ url }) => layerClient({ tasks: BenchCluster, url, threads: runners * threads, overrides: fastFailover })
  ))
  const runtime = ManagedRuntime.make(
    client.pipe(Layer.provideMerge(layerRunners(names, threads, runnerEntry)), Layer.provideMerge(layerDatabase()))
  )
  const pool = await runtime.runPromise(ComputePool.ComputePool.useSync((service) => service))
  await runtime.runPromise(Effect.gen(function*() {
    const seen = new Set<number>()
    while (seen.size < runners) {
      const pids = yield* Effect.forEach(Array.from({ length: 30 }, (_, i) => i), (i) => pool.execute(Pid, i), {
        concurrency: "unbounded"
      })
      for (const pid of pids) seen.add(pid)
    }
  }))
  return {
    sequential: (count) =>
      runtime.runPromise(Effect.gen(function*() {
        for (let i = 0; i < count; i++) yield* pool.execute(Noop, i)
      })),
    windowed: (count, window, op, n) =>
      runtime.runPromise(
        Effect.forEach(Array.from({ length: count }, () => n), (payload) =>
          op === 0 ? pool.execute(Noop, payload) : pool.execute(Spin, payload), {
          concurrency: Number.isFinite(window) ? window : "unbounded",
          discard: true
        })
      ),
    map: (count, iterations) =>
      runtime.runPromise(
        Effect.asVoid(
          ComputeParallel.map(Array.from({ length: count }, () => iterations), Spin).pipe(
            Effect.provideService(ComputePool.ComputePool, pool)
          )
        )
      ),
    close: () => runtime.dispose()
  }
}

/** The same work on the calling thread, as a baseline for CPU-bound benchmarks. */
export const inline = async (): Promise<BenchPool> => ({
  ...promisePool(async (op, n) => (op === 0 ? n : spin(n)), async () => {}),
  map: async (count, iterations) => {
    const results: Array<number> = []
    for (let i = 0; i < count; i++) results.push(spin(iterations))
  },
  sum: async (array) => {
    let sum = 0
    for (let i = 0; i < array.length; i++) sum += array[i]!
    return sum
  },
  fib: async (n) => fib(n),
  forkSum: async (items, _grain, iterations) => sumRange(0, items, iterations),
  nestedMap: async (count, iterations) => {
    let sum = 0
    for (let i = 0; i < count; i++) sum += spin(iterations)
    return sum
  },
  interleaved: async (count, iterations) => {
    for (let i = 0; i < count; i++) {
      spin(iterations)
      await new Promise((resolve) => setImmediate(resolve))
    }
  }
})

export const pools = {
  "effect-compute": (threads: number) => effectCompute(threads),
  "ec-traced": (threads: number) => effectCompute(threads, { tracing: true }),
  "ec-no-metrics": (threads: number) => effectCompute(threads, { metrics: false }),
  "ec-no-spin": (threads: number) => effectCompute(threads, { idleSpin: 0 }),
  "ec-64-in-flight": (threads: number) => effectCompute(threads, { maxInFlightPerWorker: 64 }),
  piscina,
  tinypool,
  "effect-rpc": effectRpc,
  raw,
  "effect-workers": effectWorkers,
  inline,
  "cluster-1": effectCluster(1),
  "cluster-2": effectCluster(2),
  "cluster-3": effectCluster(3)
} as const

export type PoolName = keyof typeof pools
