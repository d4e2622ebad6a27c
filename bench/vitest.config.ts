import { defineConfig } from "vitest/config"

export default defineConfig({
  // Tests import effect-compute from its sources, not dist/ (its "@effect-compute/source" export condition); Vitest
  // passes these conditions on to its forks, and so to the pools' worker threads.
  ssr: { resolve: { conditions: ["@effect-compute/source", "development|production"] } },
  test: {
    name: "bench",
    include: ["*.test.ts"],
    testTimeout: 300_000
  }
})
