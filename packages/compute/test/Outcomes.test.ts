import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber } from "effect"
import { ComputeError, ComputePool } from "effect-compute"
import {
  Add,
  allTasks,
  Echo,
  ExitProcess,
  Negative,
  ParallelFib,
  Sleep,
  SpinCooperative,
  Square,
  Throw,
  UnsendableResult,
  Unserved,
  WorkerResourceLive,
  WrongResult
} from "./fixtures/tasks.ts"
import { poll, random } from "./helpers.ts"

const entry = new URL("./fixtures/worker.ts", import.meta.url)

type Kind = "success" | "failure" | "defect" | "interrupt" | "spin-interrupt" | "crash"
type Outcome = "success" | "failure" | "defect" | "interrupted" | "crashed" | "unexpected"

const classify = (exit: Exit.Exit<unknown, unknown>): Outcome => {
  if (Exit.isSuccess(exit)) return "success"
  if (Cause.hasInterruptsOnly(exit.cause)) return "interrupted"
  const error = Cause.squash(exit.cause)
  if (error instanceof Negative) return "failure"
  if (error instanceof ComputeError.TaskDefect) return "defect"
  if (ComputeError.isComputeError(error) && error.reason._tag === "WorkerCrashed") return "crashed"
  return "unexpected"
}

/** What each kind of task may end with: its own outcome, or a crash of the worker it shared. */
const allowed: Record<Kind, ReadonlyArray<Outcome>> = {
  success: ["success", "crashed"],
  failure: ["failure", "crashed"],
  defect: ["defect", "crashed"],
  interrupt: ["interrupted", "success", "crashed"],
  "spin-interrupt": ["interrupted", "crashed"],
  crash: ["crashed"]
}

const pickKind = (r: number): Kind =>
  r < 0.45
    ? "success"
    : r < 0.6
    ? "failure"
    : r < 0.72
    ? "defect"
    : r < 0.95
    ? "interrupt"
    : r < 0.997
    ? "spin-interrupt"
    : "crash"

describe("every submitted task ends in exactly one outcome", () => {
  it.live(
    "a seeded mix of success, typed failure, defect, interruption and crash balances",
    () =>
      Effect.gen(function*() {
        const next = random(20261126)
        const total = 3_000
        const kinds: Array<Kind> = []
        const fibers: Array<Fiber.Fiber<unknown, unknown>> = []
        for (let i = 0; i < total; i++) {
          const kind = pickKind(next())
          kinds.push(kind)
          switch (kind) {
            case "success":
              fibers.push(yield* Effect.forkChild(ComputePool.execute(Add, [i, 1])))
              break
            case "failure":
              fibers.push(yield* Effect.forkChild(ComputePool.execute(Square, -i - 1)))
              break
            case "defect":
              fibers.push(yield* Effect.forkChild(ComputePool.execute(Throw, `defect ${i}`)))
              break
            case "crash":
              fibers.push(yield* Effect.forkChild(ComputePool.execute(ExitProcess, 3)))
              break
            case "interrupt":
            case "spin-interrupt": {
              const task = kind === "interrupt"
                ? ComputePool.execute(Sleep, Math.floor(next() * 20))
                : ComputePool.execute(SpinCooperative, undefined)
              const fiber = yield* Effect.forkChild(task)
              fibers.push(fiber)
              yield* Effect.forkChild(Effect.andThen(Effect.sleep(Math.floor(next() * 10)), Fiber.interrupt(fiber)))
              break
            }
          }
          if (i % 100 === 0) yield* Effect.yieldNow
        }

        const observed: Record<Outcome, number> = {
          success: 0,
          failure: 0,
          defect: 0,
          interrupted: 0,
          crashed: 0,
          unexpected: 0
        }
        for (let i = 0; i < total; i++) {
          const outcome = classify(yield* Fiber.await(fibers[i]!))
          observed[outcome]++
          assert.include(allowed[kinds[i]!], outcome, `task ${i} (${kinds[i]}) ended as ${outcome}`)
        }
        const sum = Object.values(observed).reduce((a, b) => a + b, 0)
        assert.strictEqual(sum, total)
        assert.strictEqual(observed.unexpected, 0)
        assert.isAbove(observed.crashed, 0, "the mix should include crashes")
        assert.isAbove(observed.interrupted, 0, "the mix should include interruptions")

        const stats = yield* ComputePool.stats
        assert.strictEqual(stats.submitted, total)
        assert.strictEqual(stats.activeTasks, 0)
        assert.strictEqual(stats.queuedTasks, 0)
        assert.strictEqual(
          stats.succeeded + stats.failed + stats.defects + stats.interrupted + stats.crashed + stats.rejected,
          stats.submitted
        )
        assert.strictEqual(stats.rejected, 0)
        assert.strictEqual(stats.failed, observed.failure)
        assert.strictEqual(stats.defects, observed.defect)
        assert.strictEqual(stats.crashed, observed.crashed)
        // A task can finish just as its caller is interrupted: the pool counts a success the caller never sees.
        assert.strictEqual(stats.succeeded + stats.interrupted, observed.success + observed.interrupted)
        assert.isAtMost(stats.interrupted, observed.interrupted)
        // The pool is back to full size and serving.
        assert.strictEqual(yield* ComputePool.execute(Add, [1, 1]), 2)
      }).pipe(
        Effect.provide(ComputePool.layer({
          entry,
          threads: 2,
          interruptGracePeriod: "5 seconds",
          // A mix that crashes workers on purpose: its crashing tasks must not be quarantined.
          quarantine: false
        }))
      ),
    120_000
  )
})

/** One call of each way a task can end that needs no crash: the same script runs on both layers. */
const everyOutcome = Effect.gen(function*() {
  yield* ComputePool.execute(Add, [1, 2])
  yield* ComputePool.execute(ParallelFib, 12)
  yield* Effect.exit(ComputePool.execute(Square, -1))
  yield* Effect.exit(ComputePool.execute(Throw, "boom"))
  yield* Effect.exit(ComputePool.execute(Unserved, undefined))
  yield* Effect.exit(ComputePool.execute(Echo, () => 1))
  yield* Effect.exit(ComputePool.execute(UnsendableResult, undefined))
  yield* Effect.exit(ComputePool.execute(WrongResult, undefined))
  const sleeping = yield* Effect.forkChild(ComputePool.execute(Sleep, 60_000))
  yield* poll(Effect.map(ComputePool.stats, (stats) => stats.activeTasks === 1))
  yield* Fiber.interrupt(sleeping)
  const { liveWorkers: _, stolen: __, threads: ___, ...counts } = yield* ComputePool.stats
  const { outcomes, tasks_total } = yield* ComputePool.metrics
  return { counts, outcomes, tasks_total }
})

describe("layerInline counts outcomes exactly as the worker pool does", () => {
  it.live("the same calls give the same stats and snapshot outcomes on both layers", () =>
    Effect.gen(function*() {
      const onWorkers = yield* everyOutcome.pipe(
        Effect.provide(ComputePool.layer({ entry: new URL("./fixtures/worker.ts", import.meta.url), threads: 2 }))
      )
      const inline = yield* everyOutcome.pipe(
        Effect.provide(ComputePool.layerInline({ tasks: allTasks, layer: WorkerResourceLive }))
      )
      assert.deepStrictEqual(inline, onWorkers)
      // The figures themselves, so that both layers agreeing on something wrong fails too.
      assert.deepStrictEqual(onWorkers.counts, {
        activeTasks: 0,
        queuedTasks: 0,
        workerRestarts: 0,
        workerRecycles: 0,
        submitted: onWorkers.counts.submitted,
        succeeded: onWorkers.counts.submitted - 7,
        failed: 4,
        defects: 1,
        interrupted: 1,
        crashed: 0,
        rejected: 1
      })
    }))
})
