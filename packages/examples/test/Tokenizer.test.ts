import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { ComputePool } from "effect-compute"
import * as Tokenizer from "../src/llm-service/Tokenizer.ts"

// The library's own unit tests: no workers, the pool is `layerInline` (every payload still crosses a codec).
const TestTokenizer = Tokenizer.layer.pipe(
  Layer.provide(ComputePool.layerInline({ tasks: Tokenizer.tasks, layer: Tokenizer.workerLayer }))
)

describe("Tokenizer (a library over a pool it does not build)", () => {
  it.layer(TestTokenizer)((it) => {
    it.effect("tokenizes with cl100k_base", () =>
      Effect.gen(function*() {
        const tokenizer = yield* Tokenizer.Tokenizer
        const tokens = yield* tokenizer.tokenize(["hello world", "", "Effect compute pool"])
        assert.deepStrictEqual(tokens, [[15339, 1917], [], [7894, 12849, 7463]])
      }))

    it.effect("counts tokens and decodes back to the same text", () =>
      Effect.gen(function*() {
        const tokenizer = yield* Tokenizer.Tokenizer
        const text = "Tokenizers split text into pieces — even ünïcödé and emoji 🚀."
        const [tokens] = yield* tokenizer.tokenize([text])
        assert.deepStrictEqual(yield* tokenizer.count([text, "hello world"]), [tokens!.length, 2])
        assert.strictEqual(yield* tokenizer.decode(tokens!), text)
      }))

    it.effect("keeps order across many texts (chunked over the pool)", () =>
      Effect.gen(function*() {
        const tokenizer = yield* Tokenizer.Tokenizer
        // "word word … word": one token per word
        const texts = Array.from({ length: 100 }, (_, i) => Array.from({ length: i + 1 }, () => "word").join(" "))
        const counts = yield* tokenizer.count(texts)
        assert.deepStrictEqual(counts, texts.map((_, i) => i + 1))
      }))
  })
})
