/**
 * The `./tasks.ts` of the API reference's examples: every `import { ... } from "./tasks.ts"` in the JSDoc of
 * effect-compute means this module (`npm test` type-checks each example against it, see
 * scripts/check-doc-examples.ts). It is a module like the quick start's: both the main thread and the worker entry
 * import it, and the worker entry serves its tasks.
 */
import { Context, Effect, Layer, Schema } from "effect"
import { ComputeTask } from "effect-compute"
import { createHash } from "node:crypto"

/** The typed failure of {@link Fib}. */
export class NegativeInput extends Schema.TaggedError<NegativeInput>()("NegativeInput", { n: Schema.Number }) {}

const fib = (n: number): number => (n < 2 ? n : fib(n - 1) + fib(n - 2))

/** The n-th Fibonacci number, the slow way: CPU-bound work of a tunable cost. Fails with `NegativeInput` below 0. */
export const Fib = ComputeTask.make("Fib", {
  payload: Schema.Number,
  success: Schema.Number,
  failure: NegativeInput,
  handler: (n) => (n < 0 ? Effect.fail(new NegativeInput({ n })) : Effect.succeed(fib(n)))
})

/** The SHA-256 of a string, in hex: a small task (a few microseconds on a short string). */
export const Hash = ComputeTask.make("Hash", {
  payload: Schema.String,
  success: Schema.String,
  handler: (text) => createHash("sha256").update(text).digest("hex")
})

/** Parses a JSON document. A document that is not JSON makes `JSON.parse` throw: the caller gets a `TaskDefect`. */
export const Parse = ComputeTask.make("Parse", {
  payload: Schema.String,
  success: Schema.Unknown,
  handler: (document) => JSON.parse(document) as unknown
})

/** A 64-dimension embedding of a text: its character trigrams hashed into buckets, normalised. */
export const Embed = ComputeTask.make("Embed", {
  payload: Schema.String,
  success: Schema.Array(Schema.Number),
  handler: (text) => {
    const vector = Array.from({ length: 64 }, () => 0)
    for (let i = 0; i + 3 <= text.length; i++) {
      let hash = 0x811c9dc5
      for (let j = i; j < i + 3; j++) hash = Math.imul(hash ^ text.charCodeAt(j), 0x01000193)
      vector[(hash >>> 0) % 64]! += 1
    }
    const norm = Math.hypot(...vector) || 1
    return vector.map((x) => x / norm)
  }
})

/** How well a text matches a query: the share of the query's words that the text contains. */
export const Score = ComputeTask.make("Score", {
  payload: Schema.Struct({ query: Schema.String, text: Schema.String }),
  success: Schema.Number,
  handler: ({ query, text }) => {
    const words = new Set(text.toLowerCase().split(/\W+/))
    const wanted = query.toLowerCase().split(/\W+/).filter((word) => word !== "")
    return wanted.length === 0 ? 0 : wanted.filter((word) => words.has(word)).length / wanted.length
  }
})

/** An order, as {@link Render} takes it. */
export const Order = Schema.Struct({
  id: Schema.String,
  lines: Schema.Array(Schema.Struct({ item: Schema.String, quantity: Schema.Number, price: Schema.Number }))
})

/** Renders an order as a plain-text invoice. */
export const Render = ComputeTask.make("Render", {
  payload: Order,
  success: Schema.String,
  handler: (order) =>
    [
      `Invoice ${order.id}`,
      ...order.lines.map((line) => `${line.quantity} × ${line.item} @ ${line.price.toFixed(2)}`),
      `Total ${order.lines.reduce((total, line) => total + line.quantity * line.price, 0).toFixed(2)}`
    ].join("\n")
})

/** Visits a page of a synthetic site and returns its links: work whose follow-up is only known once it has run. */
export const Crawl = ComputeTask.make("Crawl", {
  payload: Schema.String,
  success: Schema.Array(Schema.String),
  handler: (url) => (url.split("/").length > 3 ? [] : [`${url.replace(/\/$/, "")}/a`, `${url.replace(/\/$/, "")}/b`])
})

/** `n * n`. */
export const Square = ComputeTask.make("Square", {
  payload: Schema.Number,
  success: Schema.Number,
  handler: (n) => n * n
})

/** `n * 2`. */
export const Double = ComputeTask.make("Double", {
  payload: Schema.Number,
  success: Schema.Number,
  handler: (n) => n * 2
})

const Pair = Schema.Tuple([Schema.Number, Schema.Number])

/** `a + b`. */
export const Add = ComputeTask.make("Add", { payload: Pair, success: Schema.Number, handler: ([a, b]) => a + b })

/** `a * b`. */
export const Mul = ComputeTask.make("Mul", { payload: Pair, success: Schema.Number, handler: ([a, b]) => a * b })

/** `a + b` as a combine for `ComputeParallel.reduce` on the pool. */
export const AddPair = ComputeTask.make("AddPair", {
  payload: Pair,
  success: Schema.Number,
  handler: ([a, b]) => a + b
})

/** The sum of a view of a `Float64Array` (shared memory, or a buffer moved with `transfer`). */
export const SumView = ComputeTask.make("SumView", {
  payload: Schema.instanceOf(Float64Array),
  success: Schema.Number,
  handler: (view) => {
    let sum = 0
    for (let i = 0; i < view.length; i++) sum += view[i]!
    return sum
  }
})

let loadedModel: number | undefined

/** The model version this worker has loaded, if any. */
export const currentModel = (): number | undefined => loadedModel

/** Loads a model version into this worker (a module variable: one per worker) and returns the version loaded. */
export const LoadModel = ComputeTask.make("LoadModel", {
  payload: Schema.Struct({ version: Schema.Number }),
  success: Schema.Number,
  handler: ({ version }) => (loadedModel = version)
})

/** A per-worker resource: a tokenizer, built once in each worker by {@link TokenizerLive}. */
export class Tokenizer extends Context.Service<Tokenizer, { readonly encode: (text: string) => Array<number> }>()(
  "examples/Tokenizer"
) {}

/** Builds the tokenizer's vocabulary once per worker (a stand-in for loading a real one). */
export const TokenizerLive = Layer.sync(Tokenizer, () => {
  const vocabulary = new Map<string, number>()
  return Tokenizer.of({
    encode: (text) =>
      text.split(/\s+/).filter((word) => word !== "").map((word) => {
        let id = vocabulary.get(word)
        if (id === undefined) vocabulary.set(word, id = vocabulary.size)
        return id
      })
  })
})

/** A text's token ids, through the worker's {@link Tokenizer}: the worker entry must provide `TokenizerLive`. */
export const Tokenize = ComputeTask.make("Tokenize", {
  payload: Schema.String,
  success: Schema.Array(Schema.Number),
  handler: (text) =>
    Effect.gen(function*() {
      const tokenizer = yield* Tokenizer
      return tokenizer.encode(text)
    })
})
