import { assert, describe, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import { fileURLToPath } from "node:url"

const main = fileURLToPath(new URL("../src/llm-service/main.ts", import.meta.url))
const run = (args: ReadonlyArray<string>) =>
  spawnSync(process.execPath, [main, ...args], { encoding: "utf8", timeout: 90_000 })

/** The cells of the table row that starts with `name`. */
const row = (lines: ReadonlyArray<string>, name: string) => {
  const line = lines.find((l) => l.startsWith(name))
  assert.isDefined(line, `no "${name}" row in:\n${lines.join("\n")}`)
  return line!.slice(name.length).trim().split(/\s+/)
}

describe("npm start: the service under the built-in load", () => {
  it("loads the service on the pool and inline, and prints the tables and the metrics", () => {
    const result = run(["--duration", "2", "--inline-duration", "1", "--connections", "4", "--threads", "2"])
    assert.isNull(result.signal, `the demo did not exit by itself: ${result.stderr}`)
    assert.strictEqual(result.status, 0, result.stderr)
    const lines = result.stdout.split("\n")
    for (const endpoint of ["POST /tokenize", "POST /embed", "POST /infer", "GET /health (probe)"]) {
      const [requests, perSecond, p50, p99, errors] = row(lines, endpoint)
      assert.isAbove(Number(requests), 0, endpoint)
      assert.isAbove(Number(perSecond), 0, endpoint)
      assert.isAtMost(Number(p50), Number(p99), endpoint)
      assert.strictEqual(errors, "0", endpoint)
    }
    assert.strictEqual(row(lines, "on the pool").length, 5)
    assert.strictEqual(row(lines, "inline on the event loop").length, 5)
    assert.strictEqual(row(lines, "inline / pool").length, 3)
    // every task the load caused succeeded
    const outcomes = /tasks_total (\d+) {2}\(success (\d+), failure 0, defect 0, interrupted 0, crashed 0, rejected 0\)/
      .exec(result.stdout)
    assert.isNotNull(outcomes, result.stdout)
    assert.isAbove(Number(outcomes![1]), 0)
    assert.strictEqual(outcomes![1], outcomes![2])
  })

  it("lists its flags with --help and rejects a bad value with a message", () => {
    const help = run(["--help"])
    assert.strictEqual(help.status, 0)
    for (const flag of ["--duration", "--inline-duration", "--threads", "--connections"]) {
      assert.include(help.stdout, flag)
    }
    const bad = run(["--threads", "zero"])
    assert.notStrictEqual(bad.status, 0)
    assert.include(bad.stderr, `--threads must be a number >= 1, got "zero"`)
  })
})
