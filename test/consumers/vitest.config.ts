import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    name: "consumers",
    include: ["*.test.ts"],
    globalSetup: ["./setup.ts"],
    testTimeout: 300_000,
    hookTimeout: 300_000
  }
})
