import { assert, describe, it } from "@effect/vitest"
import { execFileSync } from "node:child_process"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { inputsFrom, model } from "./model.ts"

const script = fileURLToPath(new URL("./model.ts", import.meta.url))

/** A report as run.ts writes it, with only the rows the model reads (and one it does not). */
const writeReport = (results: ReadonlyArray<{ benchmark: string; medians: Record<string, number> }>) => {
  const path = join(mkdtempSync(join(tmpdir(), "bench-model-")), "report.json")
  writeFileSync(path, JSON.stringify({ results }))
  return path
}

describe("npm run bench:model", () => {
  it("computes each ceiling from its formula", () => {
    const rows = model({
      mainBusy: { "effect-compute": 5, piscina: 20 },
      subtask: 2,
      steal: 0.5,
      cores: [1, 2, 4, 8, 16]
    })
    assert.deepStrictEqual(rows.map((row) => [row.formula, row.ceilings]), [
      // 1 / main-busy, whatever the cores
      ["1 / main-busy", [200_000, 200_000, 200_000, 200_000, 200_000]],
      ["1 / main-busy", [50_000, 50_000, 50_000, 50_000, 50_000]],
      // cores / subtask
      ["cores / subtask", [500_000, 1_000_000, 2_000_000, 4_000_000, 8_000_000]],
      // cores / (subtask + steal)
      ["cores / (subtask + steal)", [400_000, 800_000, 1_600_000, 3_200_000, 6_400_000]],
      // min(cores / subtask, 1 / main-busy of effect-compute)
      ["min(cores / subtask, 1 / main-busy)", [200_000, 200_000, 200_000, 200_000, 200_000]]
    ])
    assert.isTrue(rows[0]!.label.startsWith("effect-compute"))
    assert.isTrue(rows[1]!.label.startsWith("piscina"))
  })

  it("without effect-compute's main-busy, there is no through-the-main-thread row", () => {
    const rows = model({ mainBusy: { raw: 4 }, subtask: 10, steal: 10, cores: [3] })
    assert.deepStrictEqual(rows.map((row) => row.ceilings), [[250_000], [300_000], [150_000]])
  })

  it("reads main-busy and subtask from the bench's report; flags override it; steal is assumed unless given", () => {
    const path = writeReport([
      { benchmark: "roundtrip", medians: { "effect-compute": 31 } },
      { benchmark: "main-busy", medians: { "effect-compute": 4, tinypool: 8 } },
      { benchmark: "subtask", medians: { "effect-compute": 25 } }
    ])
    const fromReport = inputsFrom(["--results", path])
    assert.deepStrictEqual(fromReport.inputs, {
      mainBusy: { "effect-compute": 4, tinypool: 8 },
      subtask: 25,
      steal: 2,
      cores: [1, 2, 4, 8, 16]
    })
    assert.include(fromReport.sources.steal, "assumed")
    const overridden = inputsFrom(["--results", path, "--subtask", "1", "--steal", "3", "--cores", "1,32"])
    assert.deepStrictEqual(overridden.inputs, {
      mainBusy: { "effect-compute": 4, tinypool: 8 },
      subtask: 1,
      steal: 3,
      cores: [1, 32]
    })
    // With both measured inputs given, no report is needed (the default one may not exist).
    const flagsOnly = inputsFrom(["--main-busy", "effect-compute=2,raw=1", "--subtask", "4"])
    assert.deepStrictEqual(flagsOnly.inputs.mainBusy, { "effect-compute": 2, raw: 1 })
    assert.strictEqual(flagsOnly.inputs.subtask, 4)
    const withoutSubtask = writeReport([{ benchmark: "main-busy", medians: { raw: 3 } }])
    assert.throws(() => inputsFrom(["--results", withoutSubtask]), /no `subtask` row/)
  })

  it("prints the table, marked as a model, with the computed ceilings", () => {
    const path = writeReport([
      { benchmark: "main-busy", medians: { "effect-compute": 5, piscina: 20 } },
      { benchmark: "subtask", medians: { "effect-compute": 2 } }
    ])
    const printed = execFileSync(process.execPath, [script, "--results", path, "--steal", "0.5"], {
      encoding: "utf8"
    })
    assert.include(printed, "model, not measured")
    assert.include(printed, "| ceiling, tasks/s (model, not measured) | formula | 1 core | 2 cores | 4 cores |")
    assert.include(printed, "| effect-compute: tasks submitted from the main thread | 1 / main-busy | 200k |")
    assert.include(printed, "| piscina: tasks submitted from the main thread | 1 / main-busy | 50k | 50k |")
    assert.include(printed, "| cores / subtask | 500k | 1.0M | 2.0M | 4.0M | 8.0M |")
    assert.include(printed, "| cores / (subtask + steal) | 400k | 800k | 1.6M | 3.2M | 6.4M |")
    assert.include(printed, "| min(cores / subtask, 1 / main-busy) | 200k | 200k | 200k | 200k | 200k |")
  })
})
