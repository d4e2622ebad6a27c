import { readdirSync } from "node:fs"
import { join } from "node:path"
import { assert, beforeAll, describe, inject, it } from "vitest"
import { assertOneEffect, consumer, install, lines, npm, run, runOn, tool } from "./harness.ts"

describe("a third-party library on effect-compute (a peer), and an app that uses it", () => {
  let library = ""
  let app = ""
  let libraryTarball = ""
  beforeAll(() => {
    const workDir = inject("workDir")
    library = consumer(workDir, "library")
    // The library's author installs its peers to develop against; its users bring their own.
    install(library, [inject("tarball"), "effect", "@types/node@^24"], true)
    run(tool("tsc"), ["-p", "."], { cwd: library, timeoutMs: 120_000 })
    const packed = npm(["pack", "--json", "--pack-destination", workDir], { cwd: library })
    libraryTarball = join(workDir, (JSON.parse(packed.stdout) as [{ filename: string }])[0].filename)
    app = consumer(workDir, "library-app")
    install(app, [libraryTarball, inject("tarball"), "effect"])
  })

  it("builds to JavaScript and declarations against effect-compute's types", () => {
    assert.sameMembers(readdirSync(join(library, "dist")), ["index.d.ts", "index.d.ts.map", "index.js"])
  })

  it("passes its own unit test on ComputePool.layerInline, with no workers", () => {
    const output = runOn("node24", ["--test", "--test-reporter=tap", "test/WordStats.test.ts"], library)
    assert.match(output, /# pass 1\b/)
    assert.match(output, /# fail 0\b/)
  })

  it("has one copy of effect in the library's tree and in the app's", () => {
    assertOneEffect(library)
    assertOneEffect(app)
  })

  it("runs in an app that provides the real pool and serves the library's tasks in its worker entry", () => {
    const [stats, pool, ...rest] = lines(runOn("node24", ["main.js"], app))
    assert.strictEqual(stats, "words: 4500, stop words: 2000")
    assert.match(pool!, /^pool: 2 workers, [1-9]\d* tasks succeeded, 0 failed$/)
    assert.deepStrictEqual(rest, [])
  })
})
