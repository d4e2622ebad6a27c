/**
 * The chaos run: a seeded mix of tasks — fast, slow, failing, defecting, interrupted, nested — while workers are
 * killed at random (process.exit inside a task, out of memory under a small heap limit). Used by Chaos.test.ts in a
 * short form and by `npm run chaos` in a long one.
 */
import { Cause, Effect, Exit, Fiber } from "effect"
import { ComputeError, ComputePool } from "effect-compute"
import {
  Add,
  BusyFor,
  ExitProcess,
  Negative,
  Oom,
  ParallelFib,
  Sleep,
  SpinCooperative,
  SpinForever,
  Square,
  Throw
} from "../fixtures/tasks.ts"
import { random } from "../helpers.ts"

export interface ChaosReport {
  readonly submitted: number
  readonly outcomes: Record<string, number>
  readonly unexpected: ReadonlyArray<string>
  readonly stats: ComputePool.PoolStats
  readonly metrics: { readonly tasks_total: number; readonly tasks_active: number; readonly completed: number }
}

type Kind = "fast" | "slow" | "failure" | "defect" | "interrupt" | "nested" | "exit" | "oom" | "stuck"

/** Mostly ordinary work; 0.2% exits, 0.15% out of memory, 0.15% loops that ignore interruption (terminated). */
const kinds: ReadonlyArray<readonly [number, Kind]> = [
  [0.4, "fast"],
  [0.5, "slow"],
  [0.6, "failure"],
  [0.7, "defect"],
  [0.85, "interrupt"],
  [0.995, "nested"],
  [0.997, "exit"],
  [0.9985, "oom"],
  [1, "stuck"]
]
const pick = (r: number): Kind => kinds.find(([upTo]) => r < upTo)?.[1] ?? "stuck"

const classify = (exit: Exit.Exit<unknown, unknown>): string => {
  if (Exit.isSuccess(exit)) return "success"
  if (Cause.hasInterruptsOnly(exit.cause)) return "interrupted"
  const error = Cause.squash(exit.cause)
  if (error instanceof Negative) return "failure"
  if (error instanceof ComputeError.TaskDefect) return "defect"
  if (ComputeError.isComputeError(error)) return error.reason._tag
  return `unexpected: ${Cause.pretty(exit.cause)}`
}

export const runChaos = (options: { readonly tasks: number; readonly seed: number; readonly threads: number }) =>
  Effect.gen(function*() {
    const next = random(options.seed)
    const fibers: Array<Fiber.Fiber<unknown, unknown>> = []
    for (let i = 0; i < options.tasks; i++) {
      const kind = pick(next())
      const task: Effect.Effect<unknown, unknown, ComputePool.ComputePool> = kind === "fast"
        ? ComputePool.execute(Add, [i, 1])
        : kind === "slow"
        ? ComputePool.execute(BusyFor, 1 + Math.floor(next() * 3))
        : kind === "failure"
        ? ComputePool.execute(Square, -1 - i)
        : kind === "defect"
        ? ComputePool.execute(Throw, `chaos ${i}`)
        : kind === "interrupt"
        ? (next() < 0.5 ? ComputePool.execute(Sleep, 50) : ComputePool.execute(SpinCooperative, undefined))
        : kind === "nested"
        ? ComputePool.execute(ParallelFib, 11 + Math.floor(next() * 3))
        : kind === "exit"
        ? ComputePool.execute(ExitProcess, 3)
        : kind === "oom"
        ? ComputePool.execute(Oom, undefined)
        : ComputePool.execute(SpinForever, undefined)
      const fiber = yield* Effect.forkChild(task)
      fibers.push(fiber)
      if (kind === "interrupt" || kind === "stuck") {
        yield* Effect.forkChild(Effect.andThen(Effect.sleep(Math.floor(next() * 20)), Fiber.interrupt(fiber)))
      }
      if (i % 200 === 0) yield* Effect.yieldNow
    }
    const outcomes: Record<string, number> = {}
    const unexpected: Array<string> = []
    for (const fiber of fibers) {
      const outcome = classify(yield* Fiber.await(fiber))
      if (outcome.startsWith("unexpected")) unexpected.push(outcome)
      outcomes[outcome] = (outcomes[outcome] ?? 0) + 1
    }
    // The pool returns to its size: replacements for the workers killed along the way.
    for (let i = 0; i < 10_000 && (yield* ComputePool.stats).liveWorkers < options.threads; i++) {
      yield* Effect.sleep(5)
    }
    const stats = yield* ComputePool.stats
    const snapshot = yield* ComputePool.metrics
    const completed = Object.values(snapshot.outcomes).reduce((a, b) => a + b, 0)
    return {
      submitted: options.tasks,
      outcomes,
      unexpected,
      stats,
      metrics: { tasks_total: snapshot.tasks_total, tasks_active: snapshot.tasks_active, completed }
    } satisfies ChaosReport
  }).pipe(
    Effect.provide(
      ComputePool.layer({
        entry: new URL("../fixtures/worker.ts", import.meta.url),
        threads: options.threads,
        // Short, so a loop that ignores its interruption costs its worker soon (the "terminate" kind of kill).
        interruptGracePeriod: "200 millis",
        // Workers are killed on purpose by the mix's own tasks: not poison tasks to quarantine.
        quarantine: false,
        resourceLimits: { maxOldGenerationSizeMb: 64, maxYoungGenerationSizeMb: 16 }
      })
    )
  )
