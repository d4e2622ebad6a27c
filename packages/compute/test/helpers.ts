/**
 * Helpers shared by the tests: waiting on a condition, a seeded PRNG, and reading the reason of a failure.
 */
import { assert } from "@effect/vitest"
import { Cause, Effect, Exit } from "effect"
import { ComputeError } from "effect-compute"

/** Waits (on real time, 2 ms steps, 10 s at most) until `check` holds; the only clock the tests use. */
export const poll = <R>(check: Effect.Effect<boolean, never, R>) =>
  Effect.gen(function*() {
    for (let i = 0; i < 5_000; i++) {
      if (yield* check) return
      yield* Effect.sleep(2)
    }
    assert.fail("condition never held")
  })

/** A small seeded PRNG (mulberry32), so a failing mix can be replayed. */
export const random = (seed: number) => () => {
  seed = (seed + 0x6D2B79F5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), seed | 1)
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

/** The error (or defect) a failed exit carries. */
export const squashedOf = <A, E>(exit: Exit.Exit<A, E>): unknown => {
  assert.isTrue(Exit.isFailure(exit), "expected a failure")
  return Cause.squash((exit as Exit.Failure<A, E>).cause)
}

/** The reason of the ComputeError a failed exit carries. */
export const reasonOf = <A, E>(exit: Exit.Exit<A, E>): ComputeError.ComputeErrorReason => {
  const error = squashedOf(exit)
  assert.isTrue(ComputeError.isComputeError(error), `expected a ComputeError, got ${String(error)}`)
  return (error as ComputeError.ComputeError).reason
}
