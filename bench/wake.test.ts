import { assert, describe, it } from "@effect/vitest"
import { execFileSync } from "node:child_process"
import { fileURLToPath } from "node:url"

const script = fileURLToPath(new URL("./wake.ts", import.meta.url))

describe("npm run bench:wake", () => {
  it("wakes a sleeping thread both ways after every gap and reports each line's latencies", () => {
    const rows = JSON.parse(
      execFileSync(process.execPath, [script, "--quick", "--json"], { encoding: "utf8" })
    ) as Array<
      { mode: string; gapMs: number; samples: number; p50Us: number; p90Us: number }
    >
    assert.deepStrictEqual(
      rows.map((row) => [row.mode, row.gapMs, row.samples]),
      ["message", "atomics"].flatMap((mode) => [0.2, 1, 5, 20].map((gap) => [mode, gap, 5]))
    )
    // A latency is a time the worker stamped after the main thread's: positive, and p90 not below p50.
    for (const row of rows) {
      assert.isTrue(row.p50Us > 0 && Number.isFinite(row.p90Us), JSON.stringify(row))
      assert.isTrue(row.p90Us >= row.p50Us, JSON.stringify(row))
    }
  })
})
