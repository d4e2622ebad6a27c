/**
 * A tokenizer library built on effect-compute, the way a third-party package would be: it defines its tasks, its
 * per-worker resource and its service, and its `layer` requires a `ComputePool` without building one. The app decides
 * the pool (real workers in production, `ComputePool.layerInline` in this library's unit tests) and serves
 * `Tokenizer.tasks` with `Tokenizer.workerLayer` in its worker entry.
 *
 * The tokenizer is gpt-tokenizer's cl100k_base BPE; its vocabulary ships inside the npm package, so nothing is
 * downloaded at run time. Each worker loads it once (about 1 MB of ranks, ~30 ms), in `workerLayer`.
 */
import { Context, Effect, Layer, Schema } from "effect"
import type { ComputeError } from "effect-compute"
import { ComputeParallel, ComputePool, ComputeTask } from "effect-compute"

/**
 * The loaded vocabulary: the per-worker resource.
 *
 * @category worker
 */
export class Encoding extends Context.Service<Encoding, {
  readonly name: string
  readonly encode: (text: string) => Array<number>
  readonly decode: (tokens: ReadonlyArray<number>) => string
}>()("examples/Tokenizer/Encoding") {}

/**
 * Loads the vocabulary in a worker. Imported here, not at the top of the module, so that the main thread — which only
 * sends tasks — never loads it.
 *
 * @category worker
 */
export const workerLayer: Layer.Layer<Encoding> = Layer.effect(
  Encoding,
  Effect.promise(async () => {
    const [{ GptEncoding }, ranks] = await Promise.all([
      import("gpt-tokenizer/GptEncoding"),
      import("gpt-tokenizer/bpeRanks/cl100k_base")
    ])
    const encoding = GptEncoding.getEncodingApi("cl100k_base", () => ranks.default)
    return Encoding.of({
      name: "cl100k_base",
      encode: (text) => encoding.encode(text),
      decode: (tokens) => encoding.decode(tokens)
    })
  })
)

const Tokens = Schema.Array(Schema.Number)

/**
 * One text to its token ids.
 *
 * @category tasks
 */
export const Encode = ComputeTask.make("Tokenizer.Encode", {
  payload: Schema.String,
  success: Tokens,
  handler: (text) => Encoding.useSync((encoding) => encoding.encode(text))
})

/**
 * How many tokens a text has (only the count crosses back).
 *
 * @category tasks
 */
export const Count = ComputeTask.make("Tokenizer.Count", {
  payload: Schema.String,
  success: Schema.Number,
  handler: (text) => Encoding.useSync((encoding) => encoding.encode(text).length)
})

/**
 * Token ids back to text.
 *
 * @category tasks
 */
export const Decode = ComputeTask.make("Tokenizer.Decode", {
  payload: Tokens,
  success: Schema.String,
  handler: (tokens) => Encoding.useSync((encoding) => encoding.decode(tokens))
})

/**
 * The tasks an app's worker entry serves for this library, with {@link workerLayer}.
 *
 * @category worker
 */
export const tasks = [Encode, Count, Decode] as const

/**
 * The library's service, used on the main thread.
 *
 * @category services
 */
export class Tokenizer extends Context.Service<Tokenizer, {
  /** Token ids of each text, tokenised in parallel on the pool (chunked like any `ComputeParallel.map`). */
  readonly tokenize: (
    texts: ReadonlyArray<string>
  ) => Effect.Effect<Array<ReadonlyArray<number>>, ComputeError.ComputeError>
  /** How many tokens each text has. */
  readonly count: (texts: ReadonlyArray<string>) => Effect.Effect<Array<number>, ComputeError.ComputeError>
  readonly decode: (tokens: ReadonlyArray<number>) => Effect.Effect<string, ComputeError.ComputeError>
}>()("examples/Tokenizer") {}

/**
 * The service over whichever `ComputePool` the app provides.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { ComputePool } from "effect-compute"
 * import * as Tokenizer from "./Tokenizer.ts"
 *
 * // in unit tests: every task on the calling thread, the vocabulary loaded once
 * const TestTokenizer = Tokenizer.layer.pipe(
 *   Layer.provide(ComputePool.layerInline({ tasks: Tokenizer.tasks, layer: Tokenizer.workerLayer }))
 * )
 * ```
 *
 * @category layers
 */
export const layer: Layer.Layer<Tokenizer, never, ComputePool.ComputePool> = Layer.effect(
  Tokenizer,
  Effect.gen(function*() {
    const pool = yield* ComputePool.ComputePool
    return Tokenizer.of({
      tokenize: (texts) =>
        ComputeParallel.map(texts, Encode).pipe(Effect.provideService(ComputePool.ComputePool, pool)),
      count: (texts) => ComputeParallel.map(texts, Count).pipe(Effect.provideService(ComputePool.ComputePool, pool)),
      decode: (tokens) => pool.execute(Decode, tokens)
    })
  })
)
