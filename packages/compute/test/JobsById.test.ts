import { assert, describe, it } from "@effect/vitest"
import type { Job } from "../src/internal/main/job.ts"
import { JobsById } from "../src/internal/main/workerSlot.ts"

const job = (id: number) => ({ id }) as Job

describe("JobsById", () => {
  it("agrees with a Map through colliding ids, deletions inside probe runs and growth", () => {
    const table = new JobsById()
    const reference = new Map<number, Job>()
    // A fixed pseudo-random sequence; ids are multiples of 16 and 64 apart as often as not, so they share home slots.
    let seed = 7
    const next = (n: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31
      return seed % n
    }
    for (let step = 0; step < 20_000; step++) {
      const id = next(4) === 0 ? next(40) * 64 : next(3_000)
      if (next(3) === 0 || reference.size > 200) {
        reference.delete(id)
        table.delete(id)
      } else {
        const added = job(id)
        reference.set(id, added)
        table.set(added)
      }
      const probe = next(3_000)
      assert.strictEqual(table.get(probe), reference.get(probe))
      assert.strictEqual(table.size, reference.size)
    }
    for (const [id, held] of reference) assert.strictEqual(table.get(id), held)
    assert.deepStrictEqual(table.values().map((held) => held.id), [...reference.keys()].toSorted((a, b) => a - b))
  })
})
