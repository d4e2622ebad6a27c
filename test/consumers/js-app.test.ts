import { assert, beforeAll, describe, inject, it } from "vitest"
import { assertOneEffect, consumer, install, lines, runOn, type Runtime } from "./harness.ts"

// One line per feature of the README's runtime table; the same on every runtime listed there.
const expected = [
  "execute: fib(25) = 75025, join = 6765/10946, typed failure = NegativeInput(-1)",
  "crash isolation: WorkerCrashed, exit code 3; next task = 55",
  "interruption of a sync loop: stopped, workers replaced: 1; next task = 55",
  "shared memory: caller sees 2000 after the workers doubled 1000 ones"
]

describe("a plain JavaScript ESM app with a .js worker entry", () => {
  let dir = ""
  beforeAll(() => {
    dir = consumer(inject("workDir"), "js-app")
    install(dir, [inject("tarball"), "effect", "@effect/platform-node"])
  })

  it("installs one copy of effect", () => assertOneEffect(dir))

  const on: ReadonlyArray<Runtime> = ["node24", "node22", "bun", "deno"]
  it.each(on)("runs every feature on %s", (runtime) => {
    assert.deepStrictEqual(lines(runOn(runtime, ["main.js"], dir)), expected)
  })
})
