/**
 * The pools driven the way an Effect program would use them: calls inside `Effect.forEach` with a concurrency bound.
 * effect-compute (and its variants), Effect's RPC worker pool, and Effect's worker platform.
 */
// Modules, not package barrels: the barrels load far more than these (platform-node's alone adds ~0.4 s to each case).
import * as NodeWorker from "@effect/platform-node/NodeWorker"
import { Context, Effect, Exit, Layer, ManagedRuntime, Scope, Tracer } from "effect"
import { ComputeParallel, ComputePool } from "effect-compute"
import * as RpcClient from "effect/rpc/RpcClient"
import type * as RpcClientError from "effect/rpc/RpcClientError"
import * as EffectWorker from "effect/workers/Worker"
import { Worker } from "node:worker_threads"
import { perFreshArray, promisePool, roundRobin, workerUrl } from "./drive.ts"
import type { BenchPool, EffectComputeVariant, Op, RawMessage } from "./pools.ts"
import { BenchRpcs } from "./rpcs.ts"
import { ArrayEnds, ForkSum, NestedMap, Noop, ParallelFib, SpawnNoops, Spin, SumView } from "./tasks.ts"

/** drive.ts's `perArray` for calls that are Effects: one fiber per array. */
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

/** A tracer that keeps nothing: tracing is on (a span per task, context sent to workers) at the least cost. */
const discardingTracer = Tracer.make({ span: (options) => Tracer.nativeTracer.span(options) })

export const effectCompute = async (
  threads: number,
  variant: EffectComputeVariant = {}
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
