/**
 * Data parallelism on the pool — the Rust runtime's `par_iter`, `par_chunks`, `parallel_map` and `parallel_batch`:
 * map a task over many items, reduce the results, split a typed array into chunks, and fan a `Stream` out to the
 * pool.
 *
 * Items travel in chunks — one message per chunk, not per item — so small items cost little to dispatch. On the main
 * thread the chunks are cut up front. Inside a worker (a task's handler that maps), `map` and `reduce` split
 * adaptively instead, as Rayon's parallel iterators do: see {@link map}.
 *
 * @since 0.1.0
 * @module
 */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type { ComputeError } from "./ComputeError.ts"
import { ComputePool } from "./ComputePool.ts"
import type * as ComputeTask from "./ComputeTask.ts"
import { positiveInteger } from "./internal/main/options.ts"
import * as Splitting from "./internal/worker/splitting.ts"

/**
 * How items are grouped into messages.
 *
 * @category models
 * @since 0.1.0
 */
export interface ChunkOptions {
  /**
   * Items per chunk, everywhere (inside a worker too, where it turns adaptive splitting off). Default: chosen from the
   * item count and the pool size (about 8 chunks per thread) on the main thread; adaptive inside a worker.
   */
  readonly chunkSize?: number | undefined
  /** The smallest chunk the automatic choice or adaptive splitting may make, like Rayon's `with_min_len`. Default 1. */
  readonly minChunkSize?: number | undefined
}

/** Most items an automatic chunk holds: beyond it, one slow chunk would hold back the end of the run. */
const maxAutomaticChunk = 8_192

/**
 * The chunk size used for `items` items on `threads` threads: the given `chunkSize`, or about 8 chunks per thread
 * (so uneven items still balance), at least `minChunkSize` and at most 8,192.
 *
 * @example
 * ```ts
 * import { ComputeParallel } from "effect-compute"
 *
 * ComputeParallel.chunkSizeFor(10_000, 2) // Effect succeeding with 625: about 8 chunks per thread
 * ComputeParallel.chunkSizeFor(10_000, 2, { chunkSize: 0 }) // Effect failing with InvalidOptions
 * ```
 *
 * @category chunking
 * @since 0.1.0
 */
export const chunkSizeFor = (
  items: number,
  threads: number,
  options: ChunkOptions = {}
): Effect.Effect<number, ComputeError> =>
  Effect.gen(function*() {
    if (options.chunkSize !== undefined) return yield* positiveInteger("chunkSize", options.chunkSize)
    const min = options.minChunkSize === undefined ? 1 : yield* positiveInteger("minChunkSize", options.minChunkSize)
    const automatic = Math.ceil(items / (Math.max(threads, 1) * 8))
    return Math.max(min, Math.min(automatic, maxAutomaticChunk), 1)
  })

const split = <A>(items: ReadonlyArray<A>, size: number): Array<ReadonlyArray<A>> => {
  const chunks: Array<ReadonlyArray<A>> = []
  for (let start = 0; start < items.length; start += size) chunks.push(items.slice(start, start + size))
  return chunks
}

/**
 * Runs a task on every item and returns the results in the items' order. The first failure interrupts the chunks
 * still running and fails the whole map.
 *
 * On the main thread, the items are cut into chunks up front ({@link chunkSizeFor}): a chunk already sent to a worker
 * cannot be split again from here. Inside a worker (a handler calling `map`), where idle workers steal from busy
 * ones, the items split as they run, as Rayon's `par_iter` does: the map starts as one piece in that worker's own
 * queue; a piece splits in half — both halves queued where it runs, so an idle worker can steal one — while a small
 * split budget lasts (the thread count, halved at each split), whenever it was stolen (the budget is reset), and
 * while it is too big to be stolen (8 KB serialised), but never into halves below `minChunkSize`; otherwise it runs
 * its items as one chunk. Each piece counts as one task in the stats and metrics. A given `chunkSize` keeps fixed
 * chunks everywhere.
 *
 * @example
 * ```ts
 * import { ComputeParallel } from "effect-compute"
 * import { Tokenize } from "./tasks.ts"
 *
 * const documents = ["the quick brown fox", "jumps over", "the lazy dog"]
 * // Effect<Array<ReadonlyArray<number>>, ComputeError, ComputePool>: one token list per document, in order
 * const tokens = ComputeParallel.map(documents, Tokenize)
 * const tuned = ComputeParallel.map(documents, Tokenize, { chunkSize: 64 })
 * ```
 *
 * @category mapping
 * @since 0.1.0
 */
export const map = <T extends ComputeTask.Any>(
  items: Iterable<ComputeTask.Payload<T>>,
  task: T,
  options?: ChunkOptions
): Effect.Effect<Array<ComputeTask.Success<T>>, ComputeTask.Failure<T> | ComputeError, ComputePool> =>
  ComputePool.use((pool) =>
    Effect.gen(function*() {
      const array = Array.from(items)
      // Inside a worker, where idle workers steal, the items split as they run, unless the caller fixed the size.
      const splitMap = options?.chunkSize === undefined ? Splitting.splitMapOf(pool) : undefined
      if (splitMap !== undefined) {
        const min = options?.minChunkSize === undefined
          ? 1
          : yield* positiveInteger("minChunkSize", options.minChunkSize)
        return array.length === 0 ? [] : yield* splitMap(task, array, min)
      }
      const size = yield* chunkSizeFor(array.length, pool.threads, options)
      const results = yield* Effect.forEach(split(array, size), (chunk) => pool.executeChunk(task, chunk), {
        concurrency: "unbounded"
      })
      return results.flat() as Array<ComputeTask.Success<T>>
    })
  )

/**
 * Like {@link map}, but a `Stream` of results in the order they finish (chunk by chunk), for a caller that wants to
 * start on the first results while the rest still run.
 *
 * @example
 * ```ts
 * import { Console, Stream } from "effect"
 * import { ComputeParallel } from "effect-compute"
 * import { Tokenize } from "./tasks.ts"
 *
 * const documents = ["the quick brown fox", "jumps over", "the lazy dog"]
 * const printed = ComputeParallel.mapUnordered(documents, Tokenize).pipe(Stream.runForEach((tokens) => Console.log(tokens.length)))
 * ```
 *
 * @category mapping
 * @since 0.1.0
 */
export const mapUnordered = <T extends ComputeTask.Any>(
  items: Iterable<ComputeTask.Payload<T>>,
  task: T,
  options?: ChunkOptions
): Stream.Stream<ComputeTask.Success<T>, ComputeTask.Failure<T> | ComputeError, ComputePool> =>
  Stream.unwrap(ComputePool.use((pool) =>
    Effect.gen(function*() {
      const array = Array.from(items)
      const size = yield* chunkSizeFor(array.length, pool.threads, options)
      return Stream.fromIterable(split(array, size)).pipe(
        Stream.mapEffect((chunk) => pool.executeChunk(task, chunk), { concurrency: "unbounded", unordered: true }),
        Stream.flattenIterable
      )
    })
  ))

/**
 * Maps a task over the items, then folds the results with an associative `combine`, starting from `initial`. With a
 * plain function, the fold runs on the calling thread as the mapped results arrive in order; with a task (whose
 * payload is a pair), the results are combined pairwise on the pool, level by level.
 *
 * @example
 * ```ts
 * import { ComputeParallel } from "effect-compute"
 * import { AddPair, Square } from "./tasks.ts"
 *
 * const numbers = Array.from({ length: 10_000 }, (_, i) => i)
 * const sumOfSquares = ComputeParallel.reduce(numbers, Square, 0, (a, b) => a + b)
 * const onThePool = ComputeParallel.reduce(numbers, Square, 0, AddPair)
 * ```
 *
 * @category mapping
 * @since 0.1.0
 */
export const reduce = <T extends ComputeTask.Any, C extends ComputeTask.Any = never>(
  items: Iterable<ComputeTask.Payload<T>>,
  task: T,
  initial: ComputeTask.Success<T>,
  combine:
    | ((left: ComputeTask.Success<T>, right: ComputeTask.Success<T>) => ComputeTask.Success<T>)
    | C,
  options?: ChunkOptions
): Effect.Effect<
  ComputeTask.Success<T>,
  ComputeTask.Failure<T> | ComputeTask.Failure<C> | ComputeError,
  ComputePool
> =>
  Effect.flatMap(map(items, task, options), (results) =>
    typeof combine === "function"
      ? Effect.succeed(results.reduce(combine, initial))
      : combineOnPool(results, initial, combine))

const combineOnPool = <A, C extends ComputeTask.Any>(
  values: ReadonlyArray<A>,
  initial: A,
  combine: C
): Effect.Effect<A, ComputeTask.Failure<C> | ComputeError, ComputePool> =>
  Effect.gen(function*() {
    let level: ReadonlyArray<A> = [initial, ...values]
    while (level.length > 1) {
      const pairs: Array<readonly [A, A]> = []
      for (let i = 0; i + 1 < level.length; i += 2) pairs.push([level[i]!, level[i + 1]!])
      const combined = (yield* map(pairs as any, combine)) as Array<A>
      // An odd one out waits for the next level, keeping the order (the combine need not be commutative).
      level = level.length % 2 === 1 ? [...combined, level[level.length - 1]!] : combined
    }
    return level[0]!
  })

/**
 * The typed arrays {@link shared} and {@link views} work with.
 *
 * @category shared memory
 * @since 0.1.0
 */
export type TypedArray =
  | Int8Array
  | Uint8Array
  | Uint8ClampedArray
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | Float32Array
  | Float64Array
  | BigInt64Array
  | BigUint64Array

/**
 * Allocates a typed array in a `SharedArrayBuffer`. Sent to a worker, such an array (or any view of it) is not
 * copied: the worker reads and writes the same memory, so a task can transform it in place.
 *
 * @example
 * ```ts
 * import { ComputeParallel } from "effect-compute"
 *
 * const samples = ComputeParallel.shared(Float64Array, 10_000_000)
 * ```
 *
 * @category shared memory
 * @since 0.1.0
 */
export const shared = <T extends TypedArray>(
  constructor: { new(buffer: SharedArrayBuffer): T; readonly BYTES_PER_ELEMENT: number },
  length: number
): T => new constructor(new SharedArrayBuffer(length * constructor.BYTES_PER_ELEMENT))

/**
 * Splits a typed array into consecutive views of `chunkSize` elements (the last may be shorter), without copying.
 * Over a `SharedArrayBuffer` (see {@link shared}) each view costs a few bytes to send, whatever the array's length,
 * and writes made by workers are seen here. Over an ordinary `ArrayBuffer`, structured clone copies a view's whole
 * underlying buffer: use shared memory, or `slice` the parts, instead.
 *
 * @example
 * ```ts
 * import { ComputeParallel } from "effect-compute"
 * import { SumView } from "./tasks.ts"
 *
 * const samples = ComputeParallel.shared(Float64Array, 10_000_000)
 * const total = ComputeParallel.reduce(ComputeParallel.views(samples, 250_000), SumView, 0, (a, b) => a + b)
 * ```
 *
 * @category shared memory
 * @since 0.1.0
 */
export const views = <T extends TypedArray>(array: T, chunkSize: number): Array<T> => {
  if (!Number.isSafeInteger(chunkSize) || chunkSize <= 0) {
    throw new RangeError(`ComputeParallel.views: chunkSize = ${chunkSize} is invalid: it must be a positive integer`)
  }
  const parts: Array<T> = []
  for (let start = 0; start < array.length; start += chunkSize) {
    parts.push(array.subarray(start, Math.min(start + chunkSize, array.length)) as T)
  }
  return parts
}

/**
 * Fans a `Stream` out to the pool: groups items into batches of `batchSize`, runs each batch as one chunk with at most
 * `concurrency` batches in flight, and emits the results — in the source's order by default, or as batches finish
 * with `ordered: false`. Backpressure reaches the source: it is pulled no faster than batches complete.
 *
 * @example
 * ```ts
 * import { Stream } from "effect"
 * import { ComputeParallel } from "effect-compute"
 * import { Embed } from "./tasks.ts"
 *
 * const documents = Stream.fromIterable(Array.from({ length: 1_000 }, (_, i) => `document number ${i}`))
 * const embeddings = documents.pipe(ComputeParallel.stream(Embed, { batchSize: 32, concurrency: 4 }))
 * ```
 *
 * @category streams
 * @since 0.1.0
 */
export const stream = <T extends ComputeTask.Any>(
  task: T,
  options: {
    readonly batchSize: number
    readonly concurrency?: number | undefined
    readonly ordered?: boolean | undefined
  }
) =>
<E, R>(
  self: Stream.Stream<ComputeTask.Payload<T>, E, R>
): Stream.Stream<ComputeTask.Success<T>, E | ComputeTask.Failure<T> | ComputeError, R | ComputePool> =>
  Stream.unwrap(
    Effect.gen(function*() {
      const batchSize = yield* positiveInteger("batchSize", options.batchSize)
      const concurrency = options.concurrency === undefined
        ? yield* ComputePool.useSync((pool) => Math.max(pool.threads, 1) * 2)
        : yield* positiveInteger("concurrency", options.concurrency)
      return self.pipe(
        Stream.grouped(batchSize),
        Stream.mapEffect((batch) => ComputePool.use((pool) => pool.executeChunk(task, batch)), {
          concurrency,
          unordered: options.ordered === false
        }),
        Stream.flattenIterable
      )
    })
  )
