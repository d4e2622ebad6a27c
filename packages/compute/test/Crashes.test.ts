import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber } from "effect"
import { ComputeError, ComputePool } from "effect-compute"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Add, ExitProcess, Oom, Sleep, ThrowInTimer, UseResource } from "./fixtures/tasks.ts"
import { poll } from "./helpers.ts"

const entry = new URL("./fixtures/worker.ts", import.meta.url)

const crashOf = <A, E>(exit: Exit.Exit<A, E>): ComputeError.WorkerCrashed => {
  assert.isTrue(Exit.isFailure(exit), "expected the task to fail")
  const error = Cause.squash((exit as Exit.Failure<A, E>).cause)
  assert.isTrue(ComputeError.isComputeError(error), `expected a ComputeError, got ${String(error)}`)
  const reason = (error as ComputeError.ComputeError).reason
  assert.strictEqual(reason._tag, "WorkerCrashed")
  return reason as ComputeError.WorkerCrashed
}

/** After a crash: the pool is back to full size and serves tasks. */
const recovered = (threads: number) =>
  Effect.gen(function*() {
    yield* poll(Effect.map(ComputePool.stats, (stats) => stats.liveWorkers === threads))
    const results = yield* Effect.all(Array.from({ length: 20 }, (_, i) => ComputePool.execute(Add, [i, 1])), {
      concurrency: "unbounded"
    })
    assert.deepStrictEqual(results, Array.from({ length: 20 }, (_, i) => i + 1))
    const stats = yield* ComputePool.stats
    assert.strictEqual(stats.workerRestarts, 1)
    assert.strictEqual(stats.activeTasks, 0)
  })

describe("worker crashes fail only the tasks on that worker", () => {
  it.live("process.exit inside a task: WorkerCrashed with the exit code; a task on the other worker is unaffected", () =>
    Effect.gen(function*() {
      const bystander = yield* Effect.forkChild(ComputePool.execute(Sleep, 300))
      yield* poll(Effect.map(ComputePool.stats, (stats) => stats.activeTasks === 1))
      const crash = crashOf(yield* Effect.exit(ComputePool.execute(ExitProcess, 7)))
      assert.strictEqual(crash.exitCode, 7)
      assert.strictEqual(crash.task, "ExitProcess")
      assert.include(crash.message, "exited with code 7")
      assert.strictEqual(yield* Fiber.join(bystander), "slept")
      yield* recovered(2)
    }).pipe(Effect.provide(ComputePool.layer({ entry, threads: 2, maxInFlightPerWorker: 1 }))))

  it.live("an uncaught throw in a timer, outside any task, fails the task then on that worker", () =>
    Effect.gen(function*() {
      assert.strictEqual(yield* ComputePool.execute(ThrowInTimer, undefined), "scheduled")
      // The next task lands on the same (only) worker, which dies when the timer fires.
      const crash = crashOf(yield* Effect.exit(ComputePool.execute(Sleep, 10_000)))
      assert.include(crash.message, "boom from a timer")
      assert.strictEqual(crash.task, "Sleep")
      // The worker's own error travels as the cause, not only flattened into the message.
      assert.instanceOf(crash.cause, Error)
      assert.include((crash.cause as Error).message, "boom from a timer")
      yield* recovered(1)
    }).pipe(Effect.provide(ComputePool.layer({ entry, threads: 1 }))))

  it.live("running out of memory under the heap limit crashes only that worker", () =>
    Effect.gen(function*() {
      const crash = crashOf(yield* Effect.exit(ComputePool.execute(Oom, undefined)))
      assert.match(crash.message, /memory/i)
      yield* recovered(1)
    }).pipe(
      Effect.provide(
        ComputePool.layer({
          entry,
          threads: 1,
          resourceLimits: { maxOldGenerationSizeMb: 48, maxYoungGenerationSizeMb: 8 }
        })
      )
    ))

  it.live("the per-worker Layer is built again, once, for the replacement worker", () =>
    Effect.gen(function*() {
      const before = yield* Effect.all(Array.from({ length: 5 }, () => ComputePool.execute(UseResource, undefined)))
      assert.deepStrictEqual(new Set(before.map((r) => `${r.workerId}:${r.builds}`)).size, 1)
      crashOf(yield* Effect.exit(ComputePool.execute(ExitProcess, 1)))
      const after = yield* Effect.all(Array.from({ length: 5 }, () => ComputePool.execute(UseResource, undefined)))
      for (const result of after) {
        assert.notStrictEqual(result.workerId, before[0]!.workerId, "a new worker")
        assert.strictEqual(result.builds, 1, "built once in the new worker, not per task")
      }
    }).pipe(Effect.provide(ComputePool.layer({ entry, threads: 1 }))))

  it.live("callers resume only once the crash is settled: every job of the dead worker ended, the restart counted", () =>
    Effect.gen(function*() {
      // Sent together, the six land on the one worker; the first exits it and the other five die with it.
      const seen: Array<ComputePool.PoolStats> = []
      const calls = [
        ComputePool.execute(ExitProcess, 3),
        ...Array.from({ length: 5 }, () => ComputePool.execute(Sleep, 50))
      ]
        .map((call) =>
          call.pipe(Effect.exit, Effect.tap(() => Effect.map(ComputePool.stats, (stats) => seen.push(stats))))
        )
      const exits = yield* Effect.all(calls, { concurrency: "unbounded" })
      for (const exit of exits) crashOf(exit)
      assert.strictEqual(seen.length, 6)
      for (const stats of seen) {
        const outcomes = stats.succeeded + stats.failed + stats.defects + stats.interrupted + stats.crashed +
          stats.rejected
        assert.strictEqual(stats.submitted, outcomes + stats.activeTasks + stats.queuedTasks, "PoolStats balance")
        assert.strictEqual(stats.crashed, 6, "every job of the dead worker had ended")
        assert.strictEqual(stats.workerRestarts, 1, "the restart was counted")
        assert.strictEqual(stats.liveWorkers, 1, "the replacement was arranged")
      }
    }).pipe(Effect.provide(ComputePool.layer({ entry, threads: 1 }))))

  it.live("when replacements cannot start, queued tasks fail with WorkerStartFailed instead of waiting forever", () => {
    const file = join(mkdtempSync(join(tmpdir(), "flaky-")), "builds")
    writeFileSync(file, "0")
    process.env["COMPUTE_TEST_FLAKY_FILE"] = file
    const flaky = new URL("./fixtures/worker-flaky-layer.ts", import.meta.url)
    return Effect.gen(function*() {
      crashOf(yield* Effect.exit(ComputePool.execute(ExitProcess, 1)))
      const exit = yield* Effect.exit(ComputePool.execute(Add, [1, 1]))
      assert.isTrue(Exit.isFailure(exit))
      const error = Cause.squash((exit as Exit.Failure<number, unknown>).cause) as ComputeError.ComputeError
      assert.strictEqual(error.reason._tag, "WorkerStartFailed")
      assert.include(error.message, "the model server is gone")
      assert.include(error.message, "3 attempts in a row")
    }).pipe(Effect.provide(ComputePool.layer({ entry: flaky, threads: 1 })))
  })
})
