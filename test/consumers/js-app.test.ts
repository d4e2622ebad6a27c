import { assert, beforeAll, describe, inject, it } from "vitest"
import { assertOneEffect, consumer, install, lines, on, runOn, type Runtime, spawn } from "./harness.ts"

// One line per feature of the README's runtime table; the same on every runtime listed there.
const expected = [
  "execute: fib(25) = 75025, join = 6765/10946, typed failure = NegativeInput(-1)",
  "crash isolation: WorkerCrashed, exit code 3; next task = 55",
  "interruption of a sync loop: stopped, workers replaced: 1; next task = 55",
  "shared memory: caller sees 2000 after the workers doubled 1000 ones"
]

// What becomes of a task that runs past its worker's resourceLimits (README, "Runtimes"): Node enforces them. Bun
// ignores them and Deno mishandles them (a task at the heap limit never answered, a 1 MB stack aborted the process),
// so there the pool refuses them: its Layer fails with InvalidOptions.
const pastLimits: Record<Runtime, { readonly heap: string; readonly stack: string | "aborted" }> = {
  node24: { heap: "WorkerCrashed", stack: "TaskDefect" },
  node22: { heap: "WorkerCrashed", stack: "TaskDefect" },
  bun: { heap: "InvalidOptions", stack: "InvalidOptions" },
  deno: { heap: "InvalidOptions", stack: "InvalidOptions" }
}

describe("a plain JavaScript ESM app with a .js worker entry", () => {
  let dir = ""
  beforeAll(() => {
    dir = consumer(inject("workDir"), "js-app")
    install(dir, [inject("tarball"), "effect", "@effect/platform-node"])
  })

  it("installs one copy of effect", () => assertOneEffect(dir))

  const everywhere: ReadonlyArray<Runtime> = ["node24", "node22", "bun", "deno"]
  it.each(everywhere)("runs every feature on %s", (runtime) => {
    assert.deepStrictEqual(lines(runOn(runtime, ["main.js"], dir)), expected)
  })

  it.each(everywhere)("meets resourceLimits on %s as documented", (runtime) => {
    const heap = lines(runOn(runtime, ["limits.js", "heap"], dir))
    assert.deepStrictEqual(heap, [`heap limit (32 MB): ${pastLimits[runtime].heap}`])
    const stack = spawn(...on(runtime, ["limits.js", "stack"]), { cwd: dir })
    if (pastLimits[runtime].stack === "aborted") {
      assert.isTrue(stack.signal === "SIGABRT" || stack.status === 134, `${stack.signal ?? stack.status}`)
      assert.include(stack.stderr, "stack overflow")
    } else {
      assert.strictEqual(stack.status, 0, stack.stderr)
      assert.deepStrictEqual(lines(stack.stdout), [`stack limit (1 MB): ${pastLimits[runtime].stack}`])
    }
  })
})
