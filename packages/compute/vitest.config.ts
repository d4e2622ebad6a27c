import { defineConfig } from "vitest/config"

export default defineConfig({
  // Tests import effect-compute from its sources, not dist/ (its "@effect-compute/source" export condition); Vitest
  // passes these conditions on to its forks, and so to the pools' worker threads.
  ssr: { resolve: { conditions: ["@effect-compute/source", "development|production"] } },
  test: {
    name: "compute",
    // V8 13.6 (Node 24) can crash a process whose worker threads come and go while running WebAssembly (Node's own
    // type stripping is WebAssembly): see CONTRIBUTING, "An engine crash the test forks avoid".
    execArgv: ["--wasm-wrapper-tiering-budget=2147483647"],
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000
  }
})
