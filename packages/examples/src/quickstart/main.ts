/**
 * Quick start, part 3: the program. Provides the pool as a Layer, runs tasks on it while the main thread keeps a
 * heartbeat going, and prints what it got. Run: `node packages/examples/src/quickstart/main.ts`.
 */
import { Console, Effect, Schedule } from "effect"
import { ComputePool } from "effect-compute"
import { CountPrimes, Fib } from "./tasks.ts"

const Pool = ComputePool.layer({ entry: new URL("./worker.ts", import.meta.url) })

export const program = Effect.gen(function*() {
  // The event loop stays free while workers compute: this heartbeat keeps ticking.
  let beats = 0
  yield* Effect.forkChild(Effect.repeat(Effect.sync(() => beats++), Schedule.spaced("10 millis")))

  const fib30 = yield* ComputePool.execute(Fib, 30)
  const [primes, fib25] = yield* ComputePool.join(
    ComputePool.execute(CountPrimes, 2_000_000),
    ComputePool.execute(Fib, 25)
  )
  const many = yield* Effect.all([20, 21, 22, 23].map((n) => ComputePool.execute(Fib, n)), { concurrency: "unbounded" })
  const negative = yield* ComputePool.execute(Fib, -1).pipe(
    Effect.catchTag("NegativeInput", (error) => Effect.succeed(`typed failure: NegativeInput(${error.n})`))
  )
  const stats = yield* ComputePool.stats
  yield* Console.log(`fib(30) = ${fib30}`)
  yield* Console.log(`primes below 2,000,000 = ${primes}, fib(25) = ${fib25}`)
  yield* Console.log(`fib(20..23) = ${many.join(", ")}`)
  yield* Console.log(negative)
  yield* Console.log(`heartbeats while computing: ${beats > 0 ? "yes" : "no"}`)
  yield* Console.log(`pool: ${stats.threads} threads, ${stats.succeeded} tasks succeeded, ${stats.failed} failed`)
}).pipe(Effect.provide(Pool))

if (import.meta.main) Effect.runPromise(program)
