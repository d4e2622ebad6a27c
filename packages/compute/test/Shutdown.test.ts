import { assert, describe, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import { fileURLToPath } from "node:url"

const child = fileURLToPath(new URL("./fixtures/shutdown-child.ts", import.meta.url))

/** Runs the child to completion; a generous deadline is the only clock: if it hangs, a handle was left open. */
const runChild = (mode: "drain" | "timeout") => {
  const result = spawnSync(process.execPath, [child, mode], { encoding: "utf8", timeout: 60_000 })
  assert.isNull(result.signal, `the child did not exit by itself (a handle was left open): ${result.stderr}`)
  assert.strictEqual(result.status, 0, result.stderr)
  const lines = result.stdout.trim().split("\n")
  return JSON.parse(lines[lines.length - 1]!) as { outcomes: Record<string, number>; afterClose: string }
}

describe("closing the pool's scope", () => {
  it("drains in-flight tasks, then terminates every worker and leaves nothing open", () => {
    const report = runChild("drain")
    assert.deepStrictEqual(report.outcomes, { success: 40 })
    assert.strictEqual(report.afterClose, "PoolClosed")
  })

  it("after the drain timeout, fails running and queued tasks with PoolClosed and still exits", () => {
    const report = runChild("timeout")
    assert.deepStrictEqual(report.outcomes, { PoolClosed: 12 })
    assert.strictEqual(report.afterClose, "PoolClosed")
  })
})
