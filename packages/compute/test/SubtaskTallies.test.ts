import { assert, describe, it } from "@effect/vitest"
import { outcomes } from "../src/internal/wire/outcome.ts"
import * as Protocol from "../src/internal/wire/protocol.ts"

/** A message read back: per task name, its counts by outcome name and its run times. */
const read = (message: Protocol.SubtaskTallyMessage) => {
  const out: Record<string, { counts: Record<string, number>; runMs: Array<number> }> = {}
  Protocol.forEachTally(message, (name, counts, runMs) => {
    const named: Record<string, number> = {}
    counts.forEach((count, i) => {
      if (count > 0) named[outcomes[i]!] = count
    })
    out[name] = { counts: named, runMs: Array.from(runMs) }
  })
  return out
}

describe("a worker's subtask tallies (the per-task metrics of subtasks, summed per task name)", () => {
  it("sums endings per task name, keeps each run time, and starts again from nothing once taken", () => {
    const tallies = new Protocol.SubtaskTallies()
    assert.isTrue(tallies.isEmpty)
    tallies.add("Fib", "success", 2)
    tallies.add("Fib", "success", 3)
    tallies.add("Fib", "interrupted", undefined)
    tallies.add("Leaf", "failure", 1)
    assert.isFalse(tallies.isEmpty)
    assert.deepStrictEqual(read(tallies.take()), {
      Fib: { counts: { success: 2, interrupted: 1 }, runMs: [2, 3] },
      Leaf: { counts: { failure: 1 }, runMs: [1] }
    })
    assert.isTrue(tallies.isEmpty)
    // Nothing added since: a name seen before is not sent again with nothing in it.
    tallies.add("Leaf", "success", 4)
    assert.deepStrictEqual(read(tallies.take()), { Leaf: { counts: { success: 1 }, runMs: [4] } })
  })

  it("merges another worker's message (a thief's, with its answer) into its own", () => {
    const thief = new Protocol.SubtaskTallies()
    thief.add("Fib", "success", 5)
    thief.add("Fib", "defect", 6)
    const owner = new Protocol.SubtaskTallies()
    owner.add("Fib", "success", 1)
    owner.merge(thief.take())
    assert.deepStrictEqual(read(owner.take()), {
      Fib: { counts: { success: 2, defect: 1 }, runMs: [1, 5, 6] }
    })
  })
})
