/**
 * `npm run cluster [-- --seconds 15 --concurrency 16]`: the same tasks on an effect cluster. Starts Postgres
 * (embedded, or a fresh database on the server DATABASE_URL names), three runner processes on 127.0.0.1 with two
 * workers each, and a client (this process) driving a mix of CPU-bound and tiny tasks through `ComputePool`; kills
 * one runner with SIGKILL a third of the way in and restarts it at two thirds. Then runs the same mix on a local
 * pool, and prints calls per runner, p50/p99 latency local against remote, and what the kill did.
 *
 * The runners and tasks are the cluster tests' (packages/compute/test/cluster/fixtures).
 */
import { Effect, Layer } from "effect"
import { ComputePool } from "effect-compute"
import { fastFailover, layerClient } from "../packages/compute/test/cluster/fixtures/cluster.ts"
import { DatabaseService, layerDatabase } from "../packages/compute/test/cluster/fixtures/postgres.ts"
import { layerRunners, Runners } from "../packages/compute/test/cluster/fixtures/processes.ts"
import { Compute, Spin, Square, WhereAmI } from "../packages/compute/test/cluster/fixtures/tasks.ts"

const args = process.argv.slice(2)
const flag = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? Number(args[i + 1]) : fallback
}
const seconds = flag("seconds", 15)
const concurrency = flag("concurrency", 16)
const threadsPerRunner = 2
const names = ["a", "b", "c"]

type Kind = "spin-2ms" | "square" | "where"

interface Sample {
  readonly kind: Kind
  readonly startedAt: number
  readonly ms: number
  readonly runner: string | undefined
  readonly ok: boolean
}

/** One call of the mix: half CPU-bound (2 ms of spinning), the rest tiny. */
const call = (i: number): [Kind, Effect.Effect<string | undefined, unknown, ComputePool.ComputePool>] => {
  switch (i % 4) {
    case 0:
    case 1:
      return ["spin-2ms", ComputePool.execute(Spin, 2)]
    case 2:
      return ["square", Effect.as(ComputePool.execute(Square, i), undefined)]
    default:
      return ["where", Effect.map(ComputePool.execute(WhereAmI, i), (where) => where.runner)]
  }
}

/** Drives the mix with `concurrency` callers for `ms`, calling `at` with the elapsed time every 100 ms. */
const drive = (ms: number, at: (elapsedMs: number) => Effect.Effect<void> = () => Effect.void) =>
  Effect.gen(function*() {
    const samples: Array<Sample> = []
    const started = performance.now()
    let next = 0
    const caller = Effect.gen(function*() {
      while (performance.now() - started < ms) {
        const [kind, effect] = call(next++)
        const startedAt = performance.now()
        const exit = yield* Effect.exit(effect)
        samples.push({
          kind,
          startedAt: startedAt - started,
          ms: performance.now() - startedAt,
          runner: exit._tag === "Success" ? exit.value : undefined,
          ok: exit._tag === "Success"
        })
      }
    })
    const clock = Effect.gen(function*() {
      while (performance.now() - started < ms) {
        yield* at(performance.now() - started)
        yield* Effect.sleep(100)
      }
    })
    yield* Effect.all([clock, ...Array.from({ length: concurrency }, () => caller)], { concurrency: "unbounded" })
    return samples
  })

const percentile = (values: ReadonlyArray<number>, p: number) => {
  if (values.length === 0) return Number.NaN
  const sorted = values.toSorted((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}
const ms = (value: number) => `${value.toFixed(2)} ms`
const rate = (samples: ReadonlyArray<Sample>, windowMs: number) => Math.round(samples.length / (windowMs / 1_000))

const program = Effect.gen(function*() {
  const database = yield* DatabaseService
  console.log(`postgres: ${database.source}, ready in ${Math.round(database.startMs)} ms`)
  const runners = yield* Runners
  console.log(`runners: ${names.map((name) => `${name} on 127.0.0.1:${runners.port(name)}`).join(", ")}`)

  const client = yield* Layer.build(
    layerClient({
      tasks: Compute,
      url: database.url,
      threads: names.length * threadsPerRunner,
      overrides: fastFailover
    })
  )
  // Warm up: wait until all three runners hold shards and answer.
  const warmStarted = performance.now()
  const seen = new Set<string>()
  while (seen.size < names.length) {
    const answers = yield* Effect.forEach(
      Array.from({ length: 30 }, (_, i) => i),
      (i) => ComputePool.execute(WhereAmI, i),
      {
        concurrency: 30
      }
    ).pipe(Effect.provideContext(client))
    for (const answer of answers) seen.add(answer.runner)
  }
  console.log(`cluster: all three runners answering after ${Math.round(performance.now() - warmStarted)} ms`)

  const loadMs = seconds * 1_000
  const killAt = loadMs / 3
  const restartAt = (loadMs * 2) / 3
  const events: Array<string> = []
  let killedAt: number | undefined
  let restartedAt: number | undefined
  console.log(`remote: ${seconds} s of mixed load, ${concurrency} callers; SIGKILL of b at ${killAt / 1_000} s`)
  const remote = yield* drive(loadMs, (elapsed) =>
    Effect.gen(function*() {
      if (killedAt === undefined && elapsed >= killAt) {
        killedAt = elapsed
        yield* runners.kill("b")
        events.push(`${(elapsed / 1_000).toFixed(1)} s: runner b killed (SIGKILL)`)
      }
      if (restartedAt === undefined && elapsed >= restartAt) {
        restartedAt = elapsed
        const restarting = performance.now()
        yield* runners.restart("b")
        events.push(
          `${(elapsed / 1_000).toFixed(1)} s: runner b restarted, ready ${
            Math.round(performance.now() - restarting)
          } ms later`
        )
      }
    })).pipe(Effect.provideContext(client))

  console.log(`local: the same mix for ${Math.min(seconds, 5)} s on a local pool of ${threadsPerRunner} workers`)
  const local = yield* drive(Math.min(seconds, 5) * 1_000).pipe(
    Effect.provide(ComputePool.layer({
      entry: new URL("../packages/compute/test/cluster/fixtures/worker.ts", import.meta.url),
      threads: threadsPerRunner
    }))
  )

  // Calls per runner by when they started: before the kill, between kill and restart, after the restart.
  const phase = (sample: Sample) =>
    sample.startedAt < killedAt! ? "before kill" : sample.startedAt < restartedAt! ? "while b down" : "after restart"
  const perRunner: Record<string, Record<string, number>> = {}
  for (const sample of remote) {
    if (sample.runner === undefined) continue
    const row = (perRunner[phase(sample)] ??= {})
    row[sample.runner] = (row[sample.runner] ?? 0) + 1
  }
  console.log("\ncalls per runner, by when they started (spin-2ms and where calls, which name their runner):")
  for (const [name, row] of Object.entries(perRunner)) {
    console.log(
      `  ${name.padEnd(14)} ${names.map((runner) => `${runner}: ${String(row[runner] ?? 0).padStart(5)}`).join("  ")}`
    )
  }

  console.log("\nlatency per call (p50 / p99), local pool vs cluster (remote, outside the kill's window):")
  const quiet = remote.filter((sample) =>
    sample.startedAt + sample.ms < killedAt! || sample.startedAt > killedAt! + 10_000
  )
  for (const kind of ["spin-2ms", "square", "where"] as const) {
    const l = local.filter((s) => s.kind === kind).map((s) => s.ms)
    const r = quiet.filter((s) => s.kind === kind).map((s) => s.ms)
    console.log(
      `  ${kind.padEnd(9)} local ${ms(percentile(l, 50))} / ${ms(percentile(l, 99))}` +
        `   remote ${ms(percentile(r, 50))} / ${ms(percentile(r, 99))}`
    )
  }
  console.log(
    `  throughput: local ${rate(local, Math.min(seconds, 5) * 1_000)} calls/s, remote ${rate(remote, loadMs)} calls/s`
  )

  const inFlightAtKill = remote.filter((s) => s.startedAt <= killedAt! && s.startedAt + s.ms >= killedAt!)
  const failed = remote.filter((s) => !s.ok)
  const slowest = inFlightAtKill.reduce((max, s) => Math.max(max, s.startedAt + s.ms - killedAt!), 0)
  console.log("\nthe kill:")
  for (const event of events) console.log(`  ${event}`)
  console.log(
    `  ${inFlightAtKill.length} calls were in flight at the kill; the last of them was answered ${ms(slowest)} after it`
  )
  console.log(
    `  ${remote.length} calls in all, ${failed.length} failed (volatile calls are sent again when their runner dies)`
  )
  if (failed.length > 0) process.exitCode = 1
})

const Cluster = layerRunners(names, threadsPerRunner).pipe(Layer.provideMerge(layerDatabase()))

const started = performance.now()
await Effect.runPromise(
  Effect.scoped(program).pipe(
    Effect.provide(Cluster),
    // Its message names the cause and the way out; a stack would only bury them.
    Effect.catchTag("DatabaseStartError", (error) =>
      Effect.sync(() => {
        console.error(`postgres did not start: ${error.message}`)
        process.exit(1)
      }))
  )
)
console.log(`\ndone in ${((performance.now() - started) / 1_000).toFixed(1)} s: runners stopped, postgres stopped`)
