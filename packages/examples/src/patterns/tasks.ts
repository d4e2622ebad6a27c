/**
 * Tasks for the reference's first two patterns, shared by the programs (which call them) and the worker entry (which
 * serves them). The pure functions are exported too, so the smoke tests can check the pool's answers against them.
 */
import { Schema } from "effect"
import { ComputeTask } from "effect-compute"
import { isPrime } from "../quickstart/tasks.ts"

/** FNV-1a, repeated: a stand-in for real per-item work (parsing, hashing) of a tunable cost. */
export const digest = (seed: number, rounds: number): number => {
  let hash = 0x811c9dc5 ^ seed
  for (let i = 0; i < rounds; i++) {
    hash ^= i & 0xff
    hash = Math.imul(hash, 0x01000193)
  }
  return hash >>> 0
}

// ---- Pattern 1 -----------------------------------------------------------------------------------------------------

/** Pages of the synthetic site that `Crawl` explores. */
export const sitePages = 5_000

/** The links found on a page: 1 to 3 other pages, decided by the page's digest (the work). */
export const crawl = (page: number) => {
  const hash = digest(page, 20_000)
  const links: Array<number> = []
  for (let i = 0; i <= hash % 3; i++) links.push(digest(hash + i, 4) % sitePages)
  return { page, digest: hash, links }
}

/** Visits one page: work whose follow-up (the links) is only known once it has run. */
export const Crawl = ComputeTask.make("Crawl", {
  payload: Schema.Number,
  success: Schema.Struct({ page: Schema.Number, digest: Schema.Number, links: Schema.Array(Schema.Number) }),
  handler: crawl
})

export const countPrimesIn = (start: number, end: number) => {
  let count = 0
  for (let n = start; n < end; n++) if (isPrime(n)) count++
  return count
}

/** Primes in `[start, end)`: one chunk of a data-parallel count. */
export const CountPrimesIn = ComputeTask.make("CountPrimesIn", {
  payload: Schema.Tuple([Schema.Number, Schema.Number]),
  success: Schema.Number,
  handler: ([start, end]) => countPrimesIn(start, end)
})

export const fib = (n: number): number => (n < 2 ? n : fib(n - 1) + fib(n - 2))

export const Fib = ComputeTask.make("Fib", { payload: Schema.Number, success: Schema.Number, handler: fib })

// ---- Pattern 2 -----------------------------------------------------------------------------------------------------

/** One access-log line, like `GET /api/orders/17 200 35ms`. */
export const logLine = (i: number) => {
  const hash = digest(i, 4)
  const method = ["GET", "GET", "GET", "POST", "PUT", "DELETE"][hash % 6]
  const status = [200, 200, 200, 200, 201, 204, 301, 404, 500, 503][(hash >>> 3) % 10]
  return `${method} /api/${["orders", "users", "items", "carts"][(hash >>> 7) % 4]}/${i % 1000} ${status} ${
    (hash >>> 9) % 400
  }ms`
}

export const BatchSummary = Schema.Struct({
  lines: Schema.Number,
  serverErrors: Schema.Number,
  totalMs: Schema.Number,
  /** Order-independent checksum of the batch's lines (a sum of digests), to check nothing was lost or repeated. */
  checksum: Schema.Number
})
export type BatchSummary = typeof BatchSummary.Type

/** Parses and digests a batch of log lines. */
export const summarize = (lines: ReadonlyArray<string>): BatchSummary => {
  let serverErrors = 0
  let totalMs = 0
  let checksum = 0
  for (const line of lines) {
    const [, , status, took] = line.split(" ")
    if (status!.startsWith("5")) serverErrors++
    totalMs += Number.parseInt(took!, 10)
    let hash = 0
    for (let i = 0; i < line.length; i++) hash = digest(hash ^ line.charCodeAt(i), 40)
    checksum = (checksum + hash) % 2 ** 32
  }
  return { lines: lines.length, serverErrors, totalMs, checksum }
}

export const SummarizeBatch = ComputeTask.make("SummarizeBatch", {
  payload: Schema.Array(Schema.String),
  success: BatchSummary,
  handler: summarize
})
