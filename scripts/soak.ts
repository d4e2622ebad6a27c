/**
 * `npm run soak -- --minutes 5 --every 15`: mixed load on the pool for a while (tiny, 1-2 ms, async, nested and
 * chunked tasks, some interrupted, an occasional crash), printing heap, RSS and the main thread's event-loop delay
 * every `--every` seconds, then the trends: heap and RSS growth per minute over the run (least-squares slopes), and
 * RSS growth per worker replacement. What one replacement leaves behind is measured on its own, beside a raw
 * `worker_threads` loop, by packages/compute/test/memory/replacements.ts.
 *
 * `--hog N` runs N busy processes beside the pool for the whole run (stopped at its end, or if the soak dies): the
 * pool's threads then lose their cores at random moments, which is how rare orderings show up.
 *
 * At the end every submitted task must have ended. If some have not, the stats are read again after a pause, to tell
 * a task late in being counted from one lost.
 */
import { Effect, Fiber } from "effect"
import { ComputeParallel, ComputePool } from "effect-compute"
import { spawn } from "node:child_process"
import { monitorEventLoopDelay } from "node:perf_hooks"
import { Add, BusyFor, Double, ExitProcess, ParallelFib, Sleep } from "../packages/compute/test/fixtures/tasks.ts"

const args = process.argv.slice(2)
const flag = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? Number(args[i + 1]) : fallback
}
const minutes = flag("minutes", 5)
const everySeconds = flag("every", 15)
const hogCount = flag("hog", 0)
const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10

interface Sample {
  readonly second: number
  readonly heapMb: number
  readonly rssMb: number
  readonly delayP50Ms: number
  readonly delayP99Ms: number
  readonly tasks: number
  readonly workerRestarts: number
}

// Each part may fail (a crash takes its worker's other tasks with it): the soak watches the pool, not the results.
const round = (i: number) =>
  Effect.all(
    [
      Effect.forEach(Array.from({ length: 200 }, (_, k) => k), (k) => ComputePool.execute(Add, [i, k]), {
        concurrency: 100,
        discard: true
      }),
      ComputePool.execute(BusyFor, 1 + (i % 2)),
      ComputePool.execute(Sleep, 2),
      ComputePool.execute(ParallelFib, 13),
      ComputeParallel.map(Array.from({ length: 500 }, (_, k) => k), Double),
      // An interrupted task every round, and a crash every 50th.
      Effect.flatMap(
        Effect.forkChild(ComputePool.execute(Sleep, 1_000)),
        (fiber) => Effect.andThen(Effect.sleep(1), Fiber.interrupt(fiber))
      ),
      i % 50 === 49 ? ComputePool.execute(ExitProcess, 1) : Effect.void
    ].map((part) => Effect.exit(part)),
    { concurrency: "unbounded", discard: true }
  )

const endedOf = (stats: ComputePool.PoolStats) =>
  stats.succeeded + stats.failed + stats.defects + stats.interrupted + stats.crashed + stats.rejected

const program = Effect.gen(function*() {
  const resolutionMs = 10
  const delay = monitorEventLoopDelay({ resolution: resolutionMs })
  delay.enable()
  const pastResolution = (nanos: number) => Math.max(0, Math.round((nanos / 1e6 - resolutionMs) * 100) / 100)
  const samples: Array<Sample> = []
  const started = Date.now()
  const end = started + minutes * 60_000
  let nextSample = started + everySeconds * 1_000
  let i = 0
  while (Date.now() < end) {
    // A round that does not end means a task was left hanging: say what the pool holds, and fail.
    const ended = yield* Effect.timeoutOption(round(i++), "60 seconds")
    if (ended._tag === "None") {
      console.log(JSON.stringify({ stuckRound: i - 1, stats: yield* ComputePool.stats }))
      return yield* Effect.die(new Error(`soak: round ${i - 1} did not end within 60 seconds`))
    }
    if (Date.now() >= nextSample) {
      nextSample += everySeconds * 1_000
      const memory = process.memoryUsage()
      const sample: Sample = {
        second: Math.round((Date.now() - started) / 1_000),
        heapMb: mb(memory.heapUsed),
        rssMb: mb(memory.rss),
        // The histogram records each timer's whole interval: what lies past the resolution is the delay.
        delayP50Ms: pastResolution(delay.percentile(50)),
        delayP99Ms: pastResolution(delay.percentile(99)),
        tasks: (yield* ComputePool.stats).submitted,
        workerRestarts: (yield* ComputePool.stats).workerRestarts
      }
      delay.reset()
      samples.push(sample)
      console.log(JSON.stringify(sample))
    }
  }
  delay.disable()
  const stats = yield* ComputePool.stats
  // Unbalanced: read again after a pause, still inside the pool's scope. Balanced then means late, not lost.
  const statsLater = endedOf(stats) === stats.submitted && stats.activeTasks === 0
    ? undefined
    : yield* Effect.andThen(Effect.sleep("2 seconds"), ComputePool.stats)
  return { samples, stats, statsLater, rounds: i }
}).pipe(
  Effect.provide(
    ComputePool.layer({
      entry: new URL("../packages/compute/test/fixtures/worker.ts", import.meta.url),
      threads: 2,
      interruptGracePeriod: "2 seconds",
      // A crash every 50th round, on purpose: not a poison task to quarantine.
      quarantine: false
    })
  )
)

const hogs = Array.from(
  { length: hogCount },
  () => spawn(process.execPath, ["-e", "for (;;) {}"], { stdio: "ignore" })
)
const stopHogs = () => {
  for (const hog of hogs) hog.kill("SIGKILL")
}
process.on("exit", stopHogs)
if (hogCount > 0) {
  console.log(`soak: ${hogCount} busy processes beside the pool (pids ${hogs.map((hog) => hog.pid).join(", ")})`)
}

const { rounds, samples, stats, statsLater } = await Effect.runPromise(program)
stopHogs()
// Growth per minute: least-squares slopes over the samples after the first (warm-up) one.
const points = samples.slice(1)
const slopeOf = (x: (sample: Sample) => number, y: (sample: Sample) => number) => {
  const n = points.length
  if (n < 2) return 0
  const meanX = points.reduce((a, p) => a + x(p), 0) / n
  const meanY = points.reduce((a, p) => a + y(p), 0) / n
  const den = points.reduce((a, p) => a + (x(p) - meanX) ** 2, 0)
  return den === 0 ? 0 : points.reduce((a, p) => a + (x(p) - meanX) * (y(p) - meanY), 0) / den
}
const perMinute = (y: (sample: Sample) => number) => Math.round(slopeOf((p) => p.second, y) * 60 * 100) / 100
const ended = endedOf(stats)
console.log(JSON.stringify(
  {
    minutes,
    hogs: hogCount,
    rounds,
    submitted: stats.submitted,
    ended,
    workerRestarts: stats.workerRestarts,
    activeAtEnd: stats.activeTasks,
    queuedAtEnd: stats.queuedTasks,
    outcomes: {
      succeeded: stats.succeeded,
      failed: stats.failed,
      defects: stats.defects,
      interrupted: stats.interrupted,
      crashed: stats.crashed,
      rejected: stats.rejected
    },
    heapMbPerMinute: perMinute((p) => p.heapMb),
    rssMbPerMinute: perMinute((p) => p.rssMb),
    rssKbPerReplacement: Math.round(slopeOf((p) => p.workerRestarts, (p) => p.rssMb) * 1024 * 10) / 10
  },
  null,
  2
))
const ok = ended === stats.submitted && stats.activeTasks === 0
if (statsLater !== undefined) console.log(JSON.stringify({ statsTwoSecondsLater: statsLater }))
console.log(ok ? "soak: every task ended" : "soak: FAILED")
process.exit(ok ? 0 : 1)
