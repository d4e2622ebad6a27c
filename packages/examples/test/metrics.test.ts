import { assert, describe, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import { fileURLToPath } from "node:url"

describe("metrics export example", () => {
  it("serves the pool's metrics as Prometheus text over HTTP and exits by itself", () => {
    const main = fileURLToPath(new URL("../src/metrics/main.ts", import.meta.url))
    const result = spawnSync(process.execPath, [main], {
      encoding: "utf8",
      timeout: 60_000,
      env: { ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: "" }
    })
    assert.isNull(result.signal, `the example did not exit by itself: ${result.stderr}`)
    assert.strictEqual(result.status, 0, result.stderr)
    const lines = result.stdout.split("\n")
    assert.include(lines, `compute_tasks_completed_total{pool="effect-compute",task="Fib",outcome="success"} 3`)
    assert.include(lines, `compute_tasks_completed_total{pool="effect-compute",task="Fib",outcome="failure"} 1`)
    assert.include(lines, `compute_tasks_completed_total{pool="effect-compute",task="CountPrimes",outcome="success"} 1`)
  })
})
