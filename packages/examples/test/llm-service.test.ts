import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { HttpServer } from "effect/http"
import { limits } from "../src/llm-service/Http.ts"
import { textGenerator } from "../src/llm-service/load.ts"
import * as Server from "../src/llm-service/Server.ts"

/** Starts the service (real workers, or inline) on a free port; returns its base URL. */
const start = (options: Server.ServerOptions) =>
  Effect.gen(function*() {
    const context = yield* Layer.build(Server.layer({ ...options, port: 0, quiet: true }))
    const address = Context.get(context, HttpServer.HttpServer).address as { readonly port: number }
    return `http://127.0.0.1:${address.port}`
  })

const post = (base: string, path: string, body: string) =>
  Effect.promise(async () => {
    const response = await fetch(base + path, { method: "POST", body, headers: { "content-type": "application/json" } })
    return { status: response.status, body: await response.json() as any }
  })

const get = (base: string, path: string) =>
  Effect.promise(async () => {
    const response = await fetch(base + path)
    return { status: response.status, text: await response.text() }
  })

const text = textGenerator(7)
const texts = Array.from({ length: 20 }, () => text(300))
const requests = {
  tokenize: JSON.stringify({ texts }),
  embed: JSON.stringify({
    inputs: texts.slice(0, 6).map((t, i) => ({ text: t, context: i % 2 === 0 ? texts[i + 1] : undefined }))
  }),
  infer: JSON.stringify({ items: texts })
}

describe("Pattern 3: the LLM-style service over HTTP", () => {
  it.live("answers on real workers exactly what the same service answers inline", () =>
    Effect.scoped(Effect.gen(function*() {
      const pooled = yield* start({ threads: 2 })
      const inline = yield* start({ inline: true })
      for (const [path, body] of Object.entries(requests)) {
        const fromPool = yield* post(pooled, `/${path}`, body)
        const fromInline = yield* post(inline, `/${path}`, body)
        assert.strictEqual(fromPool.status, 200, JSON.stringify(fromPool.body))
        assert.deepStrictEqual(fromPool.body, fromInline.body, path)
      }

      const tokenized = (yield* post(pooled, "/tokenize", requests.tokenize)).body
      assert.strictEqual(tokenized.tokens.length, texts.length)
      assert.deepStrictEqual(tokenized.counts, tokenized.tokens.map((ids: Array<number>) => ids.length))

      const { embeddings } = (yield* post(pooled, "/embed", requests.embed)).body
      assert.strictEqual(embeddings.length, 6)
      for (const vector of embeddings as Array<Array<number>>) {
        assert.strictEqual(vector.length, 64)
        assert.closeTo(Math.hypot(...vector), 1, 1e-5)
      }
      // a text with and without context embed differently: the context stage is mixed in
      assert.notDeepEqual(embeddings[0], embeddings[1])

      const { predictions } = (yield* post(pooled, "/infer", requests.infer)).body
      assert.strictEqual(predictions.length, texts.length)
      for (const prediction of predictions) {
        assert.include(["billing", "technical", "account", "feedback"], prediction.label)
        assert.isTrue(prediction.confidence > 0.25 && prediction.confidence <= 1, String(prediction.confidence))
      }

      const health = yield* get(pooled, "/health")
      assert.strictEqual(health.status, 200)
      assert.strictEqual(JSON.parse(health.text).status, "ok")

      const metrics = (yield* get(pooled, "/metrics")).text.split("\n")
      for (const task of ["Tokenizer.Encode", "EmbedTokens", "EmbedContext", "InferBatch", "InferChunk"]) {
        const line = metrics.find((l) =>
          l.startsWith(`compute_tasks_completed_total{pool="effect-compute",task="${task}",outcome="success"}`)
        )
        assert.isDefined(line, `no success count for ${task}`)
        assert.isAbove(Number(line!.split(" ").at(-1)), 0, line)
      }
    })))

  it.live("answers 400 with a message to a malformed, mismatched or oversized body, and keeps serving", () =>
    Effect.scoped(Effect.gen(function*() {
      const base = yield* start({ threads: 2 })
      const cases: Array<[path: string, body: string, message: RegExp]> = [
        ["/tokenize", "{\"texts\": [", /not valid JSON/],
        ["/tokenize", "", /does not match/],
        ["/tokenize", JSON.stringify({ texts: [] }), /length of at least 1/],
        ["/tokenize", JSON.stringify({ texts: ["a", 2] }), /Expected string/],
        ["/embed", JSON.stringify({ inputs: [{ context: "no text" }] }), /Missing key/],
        ["/infer", JSON.stringify({ itmes: ["typo"] }), /Missing key/],
        ["/infer", JSON.stringify({ items: Array.from({ length: limits.items + 1 }, () => "x") }), /at most 256/],
        ["/infer", JSON.stringify({ items: ["x".repeat(limits.textLength + 1)] }), /at most 8000/],
        ["/infer", JSON.stringify({ items: ["x".repeat(limits.bodyBytes)] }), /larger than 262144 bytes/]
      ]
      for (const [path, body, message] of cases) {
        const response = yield* post(base, path, body)
        assert.strictEqual(response.status, 400, `${path} ${body.slice(0, 40)}`)
        assert.match(response.body.error, message)
      }
      const after = yield* post(base, "/infer", JSON.stringify({ items: ["still serving"] }))
      assert.strictEqual(after.status, 200)
      assert.strictEqual(after.body.predictions.length, 1)
    })))
})
