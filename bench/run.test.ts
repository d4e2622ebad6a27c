import { assert, describe, it } from "@effect/vitest"
import { execFileSync } from "node:child_process"
import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { benchmarks } from "./benchmarks.ts"

describe("npm run bench (quick form)", () => {
  it("runs every (pool, benchmark) pair, writes a positive median for each and charts them", () => {
    const out = join(mkdtempSync(join(tmpdir(), "bench-")), "quick.json")
    const run = fileURLToPath(new URL("./run.ts", import.meta.url))
    const printed = execFileSync(process.execPath, [run, "--quick", "--out", out], {
      encoding: "utf8",
      timeout: 240_000
    })
    for (const other of ["piscina", "tinypool", "effect-rpc", "inline"]) assert.include(printed, `vs ${other}`)
    assert.match(printed, /per-subtask cost \(spawn \+ join of a no-op subtask inside a worker\): [\d.]+k? µs\/subtask/)
    assert.include(
      printed,
      "main-thread busy time per task (ceiling 1 / cost, on any number of cores): effect-compute "
    )
    const report = JSON.parse(readFileSync(out, "utf8")) as {
      results: Array<{ benchmark: string; medians: Record<string, number> }>
    }
    assert.deepStrictEqual(report.results.map((r) => r.benchmark), benchmarks.map((b) => b.name))
    for (const result of report.results) {
      const expected = benchmarks.find((b) => b.name === result.benchmark)!.pools
      assert.deepStrictEqual(Object.keys(result.medians).toSorted(), [...expected].toSorted())
      for (const [pool, value] of Object.entries(result.medians)) {
        assert.isTrue(Number.isFinite(value) && value > 0, `${result.benchmark}/${pool} = ${value}`)
      }
    }
    // main-busy and main-cpu cover every pool that runs tasks for the main thread (all but inline and the clusters),
    // and the variants that change the main thread's share: no idle spin, and 64 tasks in flight per worker.
    const small = benchmarks.find((b) => b.name === "small")!.pools
    for (const row of ["main-busy", "main-cpu"]) {
      assert.deepStrictEqual(
        [...benchmarks.find((b) => b.name === row)!.pools].toSorted(),
        [...small.filter((pool) => pool !== "inline"), "ec-no-spin", "ec-64-in-flight"].toSorted(),
        row
      )
    }
    const chart = readFileSync(out.replace(/\.json$/, ".svg"), "utf8")
    assert.match(chart, /^<svg /)
    for (const benchmark of benchmarks) {
      assert.include(chart, benchmark.title)
      for (const pool of benchmark.pools) assert.include(chart, `>${pool}</text>`)
    }
  }, 300_000)
})
