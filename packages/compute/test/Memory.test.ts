import { assert, describe, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import { fileURLToPath } from "node:url"
import type { ReplacementReport } from "./memory/replacements.ts"

const program = fileURLToPath(new URL("./memory/replacements.ts", import.meta.url))

/** Runs one side of the comparison in a process of its own, with a full GC before each sample. */
const replacements = (side: "pool" | "raw", count: number): ReplacementReport => {
  const result = spawnSync(
    process.execPath,
    ["--expose-gc", "--conditions=@effect-compute/source", program, "--side", side, "--count", String(count)],
    { encoding: "utf8", timeout: 120_000 }
  )
  assert.strictEqual(result.status, 0, result.stderr)
  const lines = result.stdout.trim().split("\n")
  return JSON.parse(lines[lines.length - 1]!) as ReplacementReport
}

/**
 * The bound on what one worker replacement may leave in the main thread's JS heap and array buffers. A replaced
 * worker used to leave ~59 KB there (its claim cells, its slot and its thread object, held by a retired metric
 * series); what is left now is V8's compiled code, which levels off as the process warms up.
 */
const boundPerReplacement = 8 * 1024

describe("memory per worker replacement (short form; the raw comparison: see memory/replacements.ts)", () => {
  it("a replaced worker leaves nothing of ours in the main thread's heap or array buffers", () => {
    const count = 60
    const pool = replacements("pool", count)
    console.log(
      `per replacement, bytes (least-squares over ${count}): heap ${pool.heapPerReplacement}, ` +
        `array buffers ${pool.arrayBuffersPerReplacement}, rss ${pool.rssPerReplacement}`
    )
    assert.strictEqual(pool.count, count)
    assert.isAtMost(
      pool.heapPerReplacement + pool.arrayBuffersPerReplacement,
      boundPerReplacement,
      JSON.stringify(pool.samples)
    )
  }, 180_000)
})
