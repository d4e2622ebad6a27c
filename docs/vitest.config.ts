import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    name: "docs",
    include: ["test/**/*.test.ts"],
    // Building the site (TypeDoc, then Astro) takes ~20 s on 2 idle cores; more when the machine is shared.
    hookTimeout: 240_000,
    testTimeout: 180_000
  }
})
