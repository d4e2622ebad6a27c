/**
 * The reference's Pattern 1, "Concurrent Scope and ParIter": three fibers use one pool at the same time, each with a
 * different shape of parallelism, and the pool balances them without any coordination between them.
 *
 * 1. a compute scope spawning work discovered at run time: crawling a synthetic site, where each page's links are only
 *    known once the page has been processed on a worker;
 * 2. a parallel map over chunks: counting the primes below 3,000,000 in 300 ranges;
 * 3. a join: fib(30) and fib(29) at once, summed into fib(31).
 *
 * Run: `node packages/examples/src/patterns/scope-map-join.ts`.
 */
import { Console, Effect } from "effect"
import { type ComputeError, ComputeParallel, ComputePool, ComputeScope } from "effect-compute"
import { CountPrimesIn, Crawl, Fib } from "./tasks.ts"

const Pool = ComputePool.layer({ entry: new URL("./worker.ts", import.meta.url) })

type Page = typeof Crawl.success.Type

/** Crawls from page 0: every page found spawns a task for each link not seen yet. */
export const crawlSite = ComputeScope.scoped<Page, ComputeError.ComputeError, ComputePool.ComputePool>((scope) => {
  const seen = new Set<number>([0])
  const visit = (page: number): Effect.Effect<Page, ComputeError.ComputeError, ComputePool.ComputePool> =>
    Effect.tap(
      ComputePool.execute(Crawl, page),
      (result) =>
        Effect.forEach(result.links.filter((link) => !seen.has(link)), (link) => {
          seen.add(link)
          return scope.spawn(visit(link))
        })
    )
  return scope.spawn(visit(0))
})

/** The primes below `limit`, counted in ranges of `chunk`, the ranges mapped over the pool. */
export const countPrimes = (limit: number, chunk: number) => {
  const ranges: Array<readonly [number, number]> = []
  for (let start = 0; start < limit; start += chunk) ranges.push([start, Math.min(start + chunk, limit)])
  return Effect.map(ComputeParallel.map(ranges, CountPrimesIn), (counts) => counts.reduce((a, b) => a + b, 0))
}

/** fib(31) as fib(30) + fib(29), the two halves run at once. */
export const fibByJoin = Effect.map(
  ComputePool.join(ComputePool.execute(Fib, 30), ComputePool.execute(Fib, 29)),
  ([left, right]) => left + right
)

/** Runs `effect`, returning its result with the times it started and ended (ms since `origin`). */
const timed = <A, E, R>(origin: number, effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const start = performance.now() - origin
    const value = yield* effect
    return { value, start, end: performance.now() - origin }
  })

const span = (t: { start: number; end: number }) => `${t.start.toFixed(0)}–${t.end.toFixed(0)} ms`

export const program = Effect.gen(function*() {
  const origin = performance.now()
  // The three run as three fibers at once, sharing the pool.
  const [crawled, primes, fib31] = yield* Effect.all([
    timed(origin, crawlSite),
    timed(origin, countPrimes(3_000_000, 10_000)),
    timed(origin, fibByJoin)
  ], { concurrency: "unbounded" })
  const checksum = crawled.value.reduce((sum, page) => (sum + page.digest) % 2 ** 32, 0)
  const stats = yield* ComputePool.stats
  const overlapping = Math.max(crawled.start, primes.start, fib31.start) <
    Math.min(crawled.end, primes.end, fib31.end)
  yield* Console.log(`scope: crawled ${crawled.value.length} pages, checksum ${checksum} (${span(crawled)})`)
  yield* Console.log(`map: ${primes.value} primes below 3,000,000 (${span(primes)})`)
  yield* Console.log(`join: fib(30) + fib(29) = ${fib31.value} (${span(fib31)})`)
  yield* Console.log(`all three running at once: ${overlapping ? "yes" : "no"}`)
  yield* Console.log(`pool: ${stats.threads} threads, ${stats.succeeded} tasks succeeded, ${stats.failed} failed`)
}).pipe(Effect.provide(Pool))

if (import.meta.main) Effect.runPromise(program)
