import { copyFileSync, mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { assert, beforeAll, describe, inject, it } from "vitest"
import { assertOneEffect, consumer, install, lines, run, runOn, type Runtime, tool } from "./harness.ts"

const expected = (how: string) => [
  `primes below 100000: 9592 (${how})`,
  "pool: 2 workers, 10 tasks succeeded"
]

describe("an app bundled by esbuild into main.js plus its worker entry", () => {
  let dir = ""
  let deployed = ""
  beforeAll(() => {
    const workDir = inject("workDir")
    dir = consumer(workDir, "bundled-app")
    install(dir, [inject("tarball"), "effect"])
    // The README's recipe: the worker entry is an entry point of its own, written next to main.js.
    run(tool("esbuild"), [
      "main.ts",
      "worker.ts",
      "--bundle",
      "--platform=node",
      "--format=esm",
      "--outdir=out"
    ], { cwd: dir })
    // Deployed without node_modules: everything the two files need is inside them.
    deployed = join(workDir, "bundled-app-deployed")
    mkdirSync(deployed)
    for (const file of ["main.js", "worker.js"]) copyFileSync(join(dir, "out", file), join(deployed, file))
    writeFileSync(join(deployed, "package.json"), JSON.stringify({ type: "module" }))
  })

  it("installs one copy of effect", () => assertOneEffect(dir))

  it("runs from its TypeScript sources", () => {
    assert.deepStrictEqual(lines(runOn("node24", ["main.ts"], dir)), expected("sources"))
  })

  it.each(["node24", "node22"] satisfies ReadonlyArray<Runtime>)("runs from the bundle alone on %s", (runtime) => {
    assert.deepStrictEqual(lines(runOn(runtime, ["main.js"], deployed)), expected("bundle"))
  })
})
