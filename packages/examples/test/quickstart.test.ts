import { assert, describe, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import { fileURLToPath } from "node:url"

describe("quick start example", () => {
  it("runs on real workers, prints correct results and exits by itself", () => {
    const main = fileURLToPath(new URL("../src/quickstart/main.ts", import.meta.url))
    const result = spawnSync(process.execPath, [main], { encoding: "utf8", timeout: 60_000 })
    assert.isNull(result.signal, `the example did not exit by itself: ${result.stderr}`)
    assert.strictEqual(result.status, 0, result.stderr)
    const lines = result.stdout.trim().split("\n")
    assert.deepStrictEqual(lines.slice(0, 5), [
      "fib(30) = 832040",
      "primes below 2,000,000 = 148933, fib(25) = 75025",
      "fib(20..23) = 6765, 10946, 17711, 28657",
      "typed failure: NegativeInput(-1)",
      "heartbeats while computing: yes"
    ])
    assert.match(lines[5]!, /^pool: \d+ threads, 7 tasks succeeded, 1 failed$/)
  })
})
