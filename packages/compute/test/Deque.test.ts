import { assert, describe, it } from "@effect/vitest"
import { Deque } from "../src/internal/main/deque.ts"

describe("Deque", () => {
  it("is first in, first out across growth and wrap-around", () => {
    const deque = new Deque<number>()
    const expected: Array<number> = []
    let next = 0
    // Interleave pushes and shifts so the head wraps around while the buffer grows.
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 7; i++) {
        deque.push(next)
        expected.push(next++)
      }
      for (let i = 0; i < 5; i++) assert.strictEqual(deque.shift(), expected.shift())
    }
    assert.strictEqual(deque.length, expected.length)
    while (expected.length > 0) assert.strictEqual(deque.shift(), expected.shift())
    assert.strictEqual(deque.shift(), undefined)
    assert.strictEqual(deque.length, 0)
  })

  it("retain keeps the items that pass, in order", () => {
    const deque = new Deque<number>()
    for (let i = 0; i < 100; i++) deque.push(i)
    deque.shift()
    deque.retain((n) => n % 3 === 0)
    const left: Array<number> = []
    for (let n = deque.shift(); n !== undefined; n = deque.shift()) left.push(n)
    assert.deepStrictEqual(left, Array.from({ length: 33 }, (_, i) => 3 * (i + 1)))
  })
})
