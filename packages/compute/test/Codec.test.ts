import { assert, describe, it } from "@effect/vitest"
import { Schema } from "effect"
import * as Codec from "../src/internal/wire/codec.ts"

describe("Codec", () => {
  it("passes plain primitives through the fast path and still rejects wrong types with the Schema's message", () => {
    assert.deepStrictEqual(Codec.encode(Schema.Number, 1.5), { ok: true, value: 1.5 })
    assert.deepStrictEqual(Codec.decode(Schema.Number, Number.NaN), { ok: true, value: Number.NaN })
    const wrong = Codec.encode(Schema.Number, "1")
    assert.isFalse(wrong.ok)
    assert.include((wrong as { error: string }).error, "Expected number")
  })

  it("runs refinements and transformations through the Schema parser", () => {
    assert.isFalse(Codec.encode(Schema.Int, 1.5).ok)
    assert.deepStrictEqual(Codec.encode(Schema.NumberFromString, 2), { ok: true, value: "2" })
    assert.deepStrictEqual(Codec.decode(Schema.NumberFromString, "2"), { ok: true, value: 2 })
  })

  it("encodes every item of a chunk, naming the first that fails", () => {
    const items = [1, 2, 3]
    const same = Codec.encodeAll(Schema.Number, items)
    assert.isTrue(same.ok)
    assert.strictEqual((same as { value: unknown }).value, items, "identity schemas reuse the array")
    const bad = Codec.encodeAll(Schema.Number, [1, "two", 3])
    assert.isFalse(bad.ok)
    assert.match((bad as { error: string }).error, /^item 1: /)
    assert.deepStrictEqual(Codec.encodeAll(Schema.NumberFromString, [1, 2]), { ok: true, value: ["1", "2"] })
  })
})
