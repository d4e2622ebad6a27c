/**
 * `npm run flood -- --tasks 1000000 --callers 10000 --max-queue 1000 [--fail-fast]`: submits many tasks against a
 * bounded queue and reports the peak heap and RSS while it runs, and how every call ended.
 */
import { Cause, Effect, Exit } from "effect"
import { ComputeError, ComputePool } from "effect-compute"
import { Add } from "../packages/compute/test/fixtures/tasks.ts"

const args = process.argv.slice(2)
const flag = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? Number(args[i + 1]) : fallback
}
const tasks = flag("tasks", 1_000_000)
const callers = flag("callers", 10_000)
const maxQueue = flag("max-queue", 1_000)
const failFast = args.includes("--fail-fast")

const reasonTag = (cause: Cause.Cause<unknown>) => {
  const error = Cause.squash(cause)
  return ComputeError.isComputeError(error) ? error.reason._tag : undefined
}

const mb = (bytes: number) => Math.round(bytes / 1024 / 1024)
const baseline = process.memoryUsage()
let peakHeap = baseline.heapUsed
let peakRss = baseline.rss
const sampler = setInterval(() => {
  const now = process.memoryUsage()
  peakHeap = Math.max(peakHeap, now.heapUsed)
  peakRss = Math.max(peakRss, now.rss)
}, 20)

const started = Date.now()
const program = Effect.gen(function*() {
  let succeeded = 0
  let queueFull = 0
  let other = 0
  // Callers draw the next index from a counter: no array of a million payloads is built up front.
  let next = 0
  yield* Effect.forEach(Array.from({ length: callers }, (_, i) => i), () =>
    Effect.whileLoop({
      while: () => next < tasks,
      body: () => Effect.exit(ComputePool.execute(Add, [next++, 1])),
      step: (exit) => {
        if (Exit.isSuccess(exit)) succeeded++
        else if (reasonTag(exit.cause) === "QueueFull") queueFull++
        else other++
      }
    }), { concurrency: "unbounded", discard: true })
  return { succeeded, queueFull, other, stats: yield* ComputePool.stats }
}).pipe(
  Effect.provide(
    ComputePool.layer({
      entry: new URL("../packages/compute/test/fixtures/worker.ts", import.meta.url),
      threads: 2,
      maxQueue,
      onQueueFull: failFast ? "fail" : "suspend"
    })
  )
)

const result = await Effect.runPromise(program)
clearInterval(sampler)
const report = {
  tasks,
  callers,
  maxQueue,
  mode: failFast ? "fail-fast" : "suspend",
  ...result,
  seconds: (Date.now() - started) / 1_000,
  heapMb: { baseline: mb(baseline.heapUsed), peak: mb(peakHeap) },
  rssMb: { baseline: mb(baseline.rss), peak: mb(peakRss) }
}
console.log(JSON.stringify(report, null, 2))
const ok = result.succeeded + result.queueFull + result.other === tasks && result.other === 0
console.log(ok ? "flood: every call ended, none lost" : "flood: FAILED")
process.exit(ok ? 0 : 1)
