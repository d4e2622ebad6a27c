import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Layer, Logger, Metric } from "effect"
import { ComputePool } from "effect-compute"
import { Add, ExitProcess } from "./fixtures/tasks.ts"
import { reasonOf } from "./helpers.ts"

const entry = new URL("./fixtures/worker.ts", import.meta.url)

/** Warnings the pool logs, kept for the test to read. */
const warnings: Array<string> = []
const KeepWarnings = Logger.layer([
  Logger.make((options) => {
    if (options.logLevel !== "Warn") return
    const message = options.message
    warnings.push(Array.isArray(message) ? message.join(" ") : String(message))
  })
])

describe("poison tasks", () => {
  it.live("a task that kills its worker every time is quarantined after K crashes; a healthy one runs on", () =>
    Effect.gen(function*() {
      const reasons: Array<string> = []
      for (let i = 0; i < 12; i++) {
        const exit = yield* Effect.exit(ComputePool.execute(ExitProcess, 1))
        reasons.push(Exit.isSuccess(exit) ? "success" : reasonOf(exit)._tag)
        // The same pool keeps serving the healthy task between the poison calls.
        assert.strictEqual(yield* ComputePool.execute(Add, [i, 1]), i + 1)
      }
      assert.deepStrictEqual(reasons, [
        ...Array.from({ length: 3 }, () => "WorkerCrashed"),
        ...Array.from({ length: 9 }, () => "TaskQuarantined")
      ])
      const quarantined = yield* Effect.exit(ComputePool.execute(ExitProcess, 1))
      const reason = reasonOf(quarantined)
      assert.strictEqual(reason._tag, "TaskQuarantined")
      if (reason._tag === "TaskQuarantined") {
        assert.strictEqual(reason.task, "ExitProcess")
        assert.strictEqual(reason.crashes, 3)
        assert.isAbove(reason.remainingMs, 0)
        assert.include(reason.message, "ExitProcess")
      }
      const stats = yield* ComputePool.stats
      assert.strictEqual(stats.workerRestarts, 3, "only K workers died")
      assert.strictEqual(stats.crashed, 3)
      assert.strictEqual(stats.rejected, 10)

      const snapshot = yield* Metric.snapshot
      const value = (id: string) =>
        snapshot.filter((series) => series.id === id).reduce(
          (sum, series) =>
            sum + Number((series.state as { count?: number; value?: number }).count ?? 0) +
            Number((series.state as { value?: number }).value ?? 0),
          0
        )
      assert.strictEqual(value("compute_quarantines_total"), 1)
      assert.strictEqual(value("compute_quarantined_tasks"), 1)
      assert.strictEqual(warnings.filter((warning) => warning.includes("\"ExitProcess\" crashed")).length, 1)
    }).pipe(
      Effect.provide(
        ComputePool.layer({ entry, threads: 2, quarantine: { crashes: 3, within: "1 minute", for: "1 minute" } }).pipe(
          Layer.provide(KeepWarnings)
        )
      )
    ))

  it.live("with quarantine: false, every call of a crashing task crashes its worker", () =>
    Effect.gen(function*() {
      for (let i = 0; i < 6; i++) {
        assert.strictEqual(reasonOf(yield* Effect.exit(ComputePool.execute(ExitProcess, 1)))._tag, "WorkerCrashed")
        yield* ComputePool.execute(Add, [1, 1])
      }
      assert.strictEqual((yield* ComputePool.stats).workerRestarts, 6)
    }).pipe(Effect.provide(ComputePool.layer({ entry, threads: 1, quarantine: false }))))
})
