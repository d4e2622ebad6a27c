/**
 * Memory left behind per worker replacement, measured in a process of its own (run with `--expose-gc`):
 *
 *   node --expose-gc packages/compute/test/memory/replacements.ts --side pool --count 300
 *   node --expose-gc packages/compute/test/memory/replacements.ts --side raw --count 300
 *
 * `pool`: a one-thread pool whose task exits its worker, then a task on the replacement (which also resets the
 * respawn backoff), `count` times. `raw`: the same replacements with plain `worker_threads` — a worker that loads the
 * same modules and exits when told — so what Node itself keeps per terminated worker shows beside what the pool keeps.
 * After a warm-up, it samples heap, array buffers and RSS (after a full GC) and prints one JSON line with the
 * least-squares slope of each per replacement, in bytes.
 */
import { Effect, Exit } from "effect"
import { ComputePool } from "effect-compute"
import { once } from "node:events"
import { Worker } from "node:worker_threads"
import { Add, ExitProcess } from "../fixtures/tasks.ts"

export interface ReplacementReport {
  readonly side: "pool" | "raw"
  readonly count: number
  /** least-squares slopes over the samples, bytes per replacement */
  readonly heapPerReplacement: number
  readonly arrayBuffersPerReplacement: number
  readonly rssPerReplacement: number
  readonly samples: ReadonlyArray<{ readonly replacements: number; readonly heap: number; readonly rss: number }>
}

const gc = (globalThis as { gc?: () => void }).gc

const measure = async () => {
  // Twice, with a turn of the event loop between: finalizers of terminated workers run on the loop.
  for (let i = 0; i < 2; i++) {
    gc!()
    await new Promise((resolve) => setImmediate(resolve))
  }
  return process.memoryUsage()
}

const slope = (xs: ReadonlyArray<number>, ys: ReadonlyArray<number>) => {
  const n = xs.length
  const meanX = xs.reduce((a, b) => a + b, 0) / n
  const meanY = ys.reduce((a, b) => a + b, 0) / n
  let num = 0
  let den = 0
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - meanX) * (ys[i]! - meanY)
    den += (xs[i]! - meanX) ** 2
  }
  return den === 0 ? 0 : num / den
}

/** Runs `replace` `count` times after `warmUp` unmeasured ones, sampling memory `points` times along the way. */
const run = async (side: "pool" | "raw", count: number, replace: () => Promise<void>): Promise<ReplacementReport> => {
  const warmUp = Math.max(10, Math.round(count / 10))
  for (let i = 0; i < warmUp; i++) await replace()
  const points = 6
  const samples: Array<{ replacements: number; heap: number; arrayBuffers: number; rss: number }> = []
  for (let point = 0; point <= points; point++) {
    if (point > 0) { for (let i = 0; i < count / points; i++) await replace() }
    const memory = await measure()
    samples.push({
      replacements: Math.round((point * count) / points),
      heap: memory.heapUsed,
      arrayBuffers: memory.arrayBuffers,
      rss: memory.rss
    })
  }
  const xs = samples.map((sample) => sample.replacements)
  return {
    side,
    count,
    heapPerReplacement: Math.round(slope(xs, samples.map((sample) => sample.heap))),
    arrayBuffersPerReplacement: Math.round(slope(xs, samples.map((sample) => sample.arrayBuffers))),
    rssPerReplacement: Math.round(slope(xs, samples.map((sample) => sample.rss))),
    samples: samples.map(({ heap, replacements, rss }) => ({ replacements, heap, rss }))
  }
}

const rawReplacement = async () => {
  const worker = new Worker(new URL("./raw-worker.ts", import.meta.url))
  await once(worker, "message")
  const exited = once(worker, "exit")
  worker.postMessage("exit")
  await exited
}

const poolSide = (count: number) =>
  Effect.gen(function*() {
    const pool = yield* ComputePool.ComputePool
    const replace = () =>
      Effect.runPromise(Effect.gen(function*() {
        const crash = yield* Effect.exit(pool.execute(ExitProcess, 1))
        if (Exit.isSuccess(crash)) throw new Error("the worker did not exit")
        yield* pool.execute(Add, [1, 1])
      }))
    const report = yield* Effect.promise(() => run("pool", count, replace))
    const stats = yield* pool.stats
    if (stats.workerRestarts < count) throw new Error(`only ${stats.workerRestarts} replacements happened`)
    return report
  }).pipe(
    Effect.provide(ComputePool.layer({
      entry: new URL("../fixtures/worker.ts", import.meta.url),
      threads: 1,
      // Crashing on purpose, every time: not a poison task to quarantine.
      quarantine: false
    }))
  )

if (import.meta.main) {
  if (gc === undefined) throw new Error("run with --expose-gc")
  const args = process.argv.slice(2)
  const flag = (name: string) => {
    const i = args.indexOf(`--${name}`)
    return i >= 0 ? args[i + 1] : undefined
  }
  const side = flag("side") === "raw" ? "raw" : "pool"
  const count = Number(flag("count") ?? 300)
  const report = side === "raw" ? await run("raw", count, rawReplacement) : await Effect.runPromise(poolSide(count))
  console.log(JSON.stringify(report))
}
