import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    projects: ["packages/compute", "packages/examples", "bench", "test/consumers", "docs"]
  }
})
