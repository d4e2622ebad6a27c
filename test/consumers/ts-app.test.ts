import { readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { assert, beforeAll, describe, inject, it } from "vitest"
import { assertOneEffect, consumer, install, lines, repoRoot, run, runOn } from "./harness.ts"

/** The README's quick start, as written: each ```ts block of that section that starts with `// <file>.ts`. */
const quickStart = (): Map<string, string> => {
  const readme = readFileSync(join(repoRoot, "README.md"), "utf8")
  const start = readme.indexOf("\n## Quick start\n")
  assert.isAtLeast(start, 0, "README has no Quick start section")
  const section = readme.slice(start + 1, readme.indexOf("\n## ", start + 1))
  const files = new Map<string, string>()
  for (const [, code, name] of section.matchAll(/```ts\n(\/\/ (\S+\.ts)\n[\s\S]*?)```/g)) files.set(name!, code!)
  return files
}

describe("a TypeScript app with its own strict tsconfig: the README's quick start", () => {
  let dir = ""
  beforeAll(() => {
    dir = consumer(inject("workDir"), "ts-app")
    const files = quickStart()
    assert.sameMembers([...files.keys()], ["main.ts", "tasks.ts", "worker.ts"])
    for (const [name, code] of files) writeFileSync(join(dir, name), code)
    install(dir, [inject("tarball"), "effect", "@effect/platform-node"])
    install(dir, ["typescript@^7.0.2", "@types/node@^24"], true)
  })

  it("installs one copy of effect", () => assertOneEffect(dir))

  it("type-checks with its own tsc --noEmit (skipLibCheck off, so our declarations are checked too)", () => {
    const { stdout } = run(join(dir, "node_modules/.bin/tsc"), ["-p", "."], { cwd: dir, timeoutMs: 120_000 })
    assert.strictEqual(stdout, "")
  })

  it.each(["node24", "node22"] as const)("runs with %s's type stripping, a .ts worker entry included", (runtime) => {
    assert.deepStrictEqual(lines(runOn(runtime, ["main.ts"], dir)), [
      "832040 75025 121393 [ 6765, 10946, 17711 ] NegativeInput(-1)"
    ])
  })

  it("imports each public module on its own, and no internal one", () => {
    assert.deepStrictEqual(lines(runOn("node24", ["subpaths.ts"], dir)), [
      "modules: ComputeCluster, ComputeConfig, ComputeError, ComputeMetrics, ComputeParallel, ComputePlacement, " +
      "ComputePool, ComputeScope, ComputeTask, ComputeWorker; defaultThreads(16) = 8",
      "effect-compute/internal/dispatcher: ERR_PACKAGE_PATH_NOT_EXPORTED"
    ])
  })
})
