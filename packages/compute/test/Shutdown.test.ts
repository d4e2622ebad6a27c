import { assert, describe, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import { fileURLToPath } from "node:url"

const child = fileURLToPath(new URL("./fixtures/shutdown-child.ts", import.meta.url))

/** Runs the child to completion; a generous deadline is the only clock: if it hangs, a handle was left open. */
const runChild = (mode: "drain" | "timeout" | "load") => {
  const result = spawnSync(process.execPath, [child, mode], { encoding: "utf8", timeout: 60_000 })
  assert.isNull(result.signal, `the child did not exit by itself (a handle was left open): ${result.stderr}`)
  assert.strictEqual(result.status, 0, result.stderr)
  const lines = result.stdout.trim().split("\n")
  return JSON.parse(lines[lines.length - 1]!) as {
    outcomes: Record<string, number>
    afterClose: string
    closeMs: number
  }
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

  it("under load: 10,000 tasks queued or running each get an outcome, and the process still exits", () => {
    const report = runChild("load")
    const total = Object.values(report.outcomes).reduce((a, b) => a + b, 0)
    assert.strictEqual(total, 10_000)
    assert.deepStrictEqual(Object.keys(report.outcomes).filter((o) => o !== "success" && o !== "PoolClosed"), [])
    assert.isAbove(report.outcomes["PoolClosed"] ?? 0, 0, "the drain timeout cut some off")
    assert.strictEqual(report.afterClose, "PoolClosed")
  })
})
