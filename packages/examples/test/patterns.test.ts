import { assert, describe, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { batchSize, lineCount } from "../src/patterns/stream-batches.ts"
import { crawl, logLine, summarize } from "../src/patterns/tasks.ts"

const runExample = (file: string, args: ReadonlyArray<string> = []) => {
  const main = fileURLToPath(new URL(`../src/patterns/${file}`, import.meta.url))
  const result = spawnSync(process.execPath, [main, ...args], { encoding: "utf8", timeout: 60_000 })
  assert.isNull(result.signal, `the example did not exit by itself: ${result.stderr}`)
  assert.strictEqual(result.status, 0, result.stderr)
  return result.stdout.trim().split("\n")
}

describe("Pattern 1: scope, map and join sharing one pool", () => {
  it("finishes all three with the same results as plain sequential code", () => {
    // The crawl's answer, found breadth-first on this thread with the same page function.
    const seen = new Set([0])
    const queue = [0]
    let checksum = 0
    while (queue.length > 0) {
      const page = crawl(queue.shift()!)
      checksum = (checksum + page.digest) % 2 ** 32
      for (const link of page.links) {
        if (!seen.has(link)) {
          seen.add(link)
          queue.push(link)
        }
      }
    }
    const lines = runExample("scope-map-join.ts")
    assert.match(lines[0]!, new RegExp(`^scope: crawled ${seen.size} pages, checksum ${checksum} \\(`))
    assert.isAbove(seen.size, 1_000, "the crawl should discover a large part of the site")
    assert.match(lines[1]!, /^map: 216816 primes below 3,000,000 \(/)
    assert.match(lines[2]!, /^join: fib\(30\) \+ fib\(29\) = 1346269 \(/)
    assert.strictEqual(lines[3], "all three running at once: yes")
    assert.match(lines[4]!, /^pool: \d+ threads, \d+ tasks succeeded, 0 failed$/)
  })
})

describe("Pattern 2: a stream of batches on the pool", () => {
  it("writes one summary per batch, nothing lost or repeated, in completion order", () => {
    const output = join(mkdtempSync(join(tmpdir(), "stream-batches-")), "out.ndjson")
    const lines = runExample("stream-batches.ts", [output])
    const expected = summarize(Array.from({ length: lineCount }, (_, i) => logLine(i)))
    const batches = lineCount / batchSize
    assert.strictEqual(lines[0], `wrote ${batches} batch summaries to ${output}`)
    assert.strictEqual(
      lines[1],
      `lines ${expected.lines}, server errors ${expected.serverErrors}, total time ${expected.totalMs} ms, ` +
        `checksum ${expected.checksum}`
    )
    assert.match(lines[2]!, /^written as they completed, not in input order: (yes|no \(same order\))$/)
    const written = readFileSync(output, "utf8").trim().split("\n").map((line) => JSON.parse(line).index as number)
    assert.deepStrictEqual(written.toSorted((a, b) => a - b), Array.from({ length: batches }, (_, i) => i))
  })
})
