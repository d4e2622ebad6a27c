/**
 * Quick start, part 1: the tasks. This module is imported by both the main thread (to call them) and the worker
 * entry (to serve them), so a task's name, schemas and handler live in one place.
 */
import { Effect, Schema } from "effect"
import { ComputeTask } from "effect-compute"

export class NegativeInput extends Schema.TaggedError<NegativeInput>()("NegativeInput", { n: Schema.Number }) {}

const fib = (n: number): number => (n < 2 ? n : fib(n - 1) + fib(n - 2))

/** Naive Fibonacci: a CPU-bound task with a typed failure. */
export const Fib = ComputeTask.make("Fib", {
  payload: Schema.Number,
  success: Schema.Number,
  failure: NegativeInput,
  handler: (n) => (n < 0 ? Effect.fail(new NegativeInput({ n })) : Effect.succeed(fib(n)))
})

/** Trial division: deliberately plain CPU work. */
export const isPrime = (n: number): boolean => {
  if (n < 2) return false
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false
  return true
}

/** Counts the primes below a bound, checking the interruption flag as it goes. */
export const CountPrimes = ComputeTask.make("CountPrimes", {
  payload: Schema.Number,
  success: Schema.Number,
  handler: (below, context) => {
    let count = 0
    for (let n = 2; n < below; n++) {
      if (n % 10_000 === 0 && context.isInterrupted()) break
      if (isPrime(n)) count++
    }
    return count
  }
})
