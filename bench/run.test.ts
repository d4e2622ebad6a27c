import { assert, beforeAll, describe, it } from "@effect/vitest"
import { execFileSync } from "node:child_process"
import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { benchmarks } from "./benchmarks.ts"
import { buildRayon, rayonMissing } from "./rayon.ts"

interface Report {
  readonly rayon?: { readonly rayon: string } | { readonly skipped: string }
  readonly results: Array<{
    benchmark: string
    medians: Record<string, number>
    rayonSpeedup?: number
    speedupRatioToRayon?: number
  }>
}

const rayonColumns = ["rayon", "rayon-seq", "rayon-spawn"]

describe("npm run bench (quick form)", () => {
  // One quick run for every test here: the whole bench, Rayon's columns included where cargo is at hand.
  const out = join(mkdtempSync(join(tmpdir(), "bench-")), "quick.json")
  let printed = ""
  let report: Report
  beforeAll(() => {
    // Rayon's build first (about 20 s the first time), so that the bench's own time limit is the bench's alone.
    if (rayonMissing() === undefined) buildRayon()
    const run = fileURLToPath(new URL("./run.ts", import.meta.url))
    printed = execFileSync(process.execPath, [run, "--quick", "--out", out], { encoding: "utf8", timeout: 300_000 })
    report = JSON.parse(readFileSync(out, "utf8")) as Report
  }, 330_000)

  it("runs every (pool, benchmark) pair, writes a positive median for each and charts them", () => {
    for (const other of ["piscina", "tinypool", "effect-rpc", "inline"]) assert.include(printed, `vs ${other}`)
    assert.match(printed, /per-subtask cost \(spawn \+ join of a no-op subtask inside a worker\): [\d.]+k? µs\/subtask/)
    assert.include(
      printed,
      "main-thread busy time per task (ceiling 1 / cost, on any number of cores): effect-compute "
    )
    assert.deepStrictEqual(report.results.map((r) => r.benchmark), benchmarks.map((b) => b.name))
    for (const result of report.results) {
      const expected = benchmarks.find((b) => b.name === result.benchmark)!.pools
      const pools = Object.keys(result.medians).filter((column) => !rayonColumns.includes(column))
      assert.deepStrictEqual(pools.toSorted(), [...expected].toSorted())
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
  })

  it("runs Rayon beside effect-compute and inline: each one's speedup over its sequential run, and their ratio", (ctx) => {
    const missing = rayonMissing()
    if (missing !== undefined) {
      // Skipped, never passed: the bench said why and how to get Rayon, and so does this test.
      assert.include(printed, `rayon columns skipped: ${missing}`)
      assert.deepStrictEqual(report.rayon, { skipped: missing })
      console.log(`bench/run.test.ts: Rayon's columns are not tested here: ${missing}`)
      ctx.skip(missing)
    }
    assert.match(printed, /rayon [\d.]+ \(bench\/rayon, rustc .+\): built in [\d.]+ s/)
    for (const benchmark of benchmarks) {
      const result = report.results.find((r) => r.benchmark === benchmark.name)!
      const columns = Object.keys(result.medians).filter((column) => rayonColumns.includes(column))
      if (benchmark.rayon !== true) {
        assert.deepStrictEqual(columns, [], benchmark.name)
        continue
      }
      assert.include(columns, "rayon", benchmark.name)
      // Rows with a sequential run give both speedups and their ratio, in the JSON and in the second table.
      if (result.medians["rayon-seq"] === undefined) continue
      assert.isTrue(result.rayonSpeedup! > 0 && result.speedupRatioToRayon! > 0, benchmark.name)
      const speedupRow = printed.split("\n").some((line) => {
        const cells = line.split("|").slice(1, -1).map((cell) => cell.trim())
        return cells.length === 4 && cells[0] === benchmark.title && cells.slice(1).every((c) => /^[\d.]+×$/.test(c))
      })
      assert.isTrue(speedupRow, `${benchmark.name}: no row of speedups in\n${printed}`)
    }
    assert.match(printed, /rayon per subtask: [\d.]+ ns a join, [\d.]+ ns a scope with one spawn/)
  })
})
