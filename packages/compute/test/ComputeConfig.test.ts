import { assert, describe, it } from "@effect/vitest"
import { Cause, ConfigProvider, Effect, Exit, Layer } from "effect"
import { ComputeConfig, ComputeError, ComputePool } from "effect-compute"
import { configSides } from "../src/internal/main/options.ts"
import { Add, UseResource } from "./fixtures/tasks.ts"

const entry = new URL("./fixtures/worker.ts", import.meta.url)

const messageOf = <A, E>(exit: Exit.Exit<A, E>): string => {
  assert.isTrue(Exit.isFailure(exit), "expected a failure")
  const error = Cause.squash((exit as Exit.Failure<A, E>).cause)
  assert.isTrue(ComputeError.isComputeError(error), String(error))
  const reason = (error as ComputeError.ComputeError).reason
  assert.strictEqual(reason._tag, "InvalidOptions")
  return reason.message
}

describe("ComputeConfig", () => {
  it.effect("reads the reference's [runtime] keys from TOML", () =>
    Effect.gen(function*() {
      const config = yield* ComputeConfig.fromToml(`
# Mixed workload
[runtime]
num_worker_threads = 8
compute_threads = 6
compute_stack_size = "2MB"
compute_max_in_flight = 4
compute_idle_spin = "20 micros"
`)
      assert.deepStrictEqual(config, {
        ioThreads: 8,
        threads: 6,
        stackSize: "2MB",
        maxInFlightPerWorker: 4,
        idleSpin: "20 micros"
      })
      const options = yield* ComputeConfig.toPoolOptions("worker.ts", config)
      assert.strictEqual(options.threads, 6)
      assert.strictEqual(options.maxInFlightPerWorker, 4)
      assert.strictEqual(options.idleSpin, 0.02)
      assert.deepStrictEqual(options.resourceLimits, { stackSizeMb: 2 })
    }))

  it.effect("the reference's presets are ready values", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(ComputeConfig.presets.highThroughput, { ioThreads: 16, threads: 8, stackSize: "4MB" })
      assert.deepStrictEqual(ComputeConfig.presets.batch, { ioThreads: 4, threads: 12, stackSize: "8MB" })
      assert.deepStrictEqual(ComputeConfig.presets.mixed, { ioThreads: 8, threads: 6, stackSize: "2MB" })
      const batch = yield* ComputeConfig.toPoolOptions("worker.ts", ComputeConfig.presets.batch)
      assert.deepStrictEqual(batch.resourceLimits, { stackSizeMb: 8 })
    }))

  it.effect("bad values fail with a message naming the key, the value and the rule", () =>
    Effect.gen(function*() {
      const cases: Array<[string, string]> = [
        [`[runtime]\ncompute_stack_size = "64KB"`, `compute_stack_size = "64KB" is invalid: it must be at least 128KB`],
        [`[runtime]\ncompute_stack_size = "lots"`, `compute_stack_size = "lots" is invalid: it must be a size`],
        [`[runtime]\ncompute_threads = -1`, `compute_threads = -1 is invalid: it must be an integer of at least 0`],
        [`[runtime]\ncompute_threads = 2.5`, `compute_threads = 2.5 is invalid: it must be an integer of at least 0`],
        [`[runtime]\ncompute_thread = 4`, `compute_thread = 4 is invalid: it is not a known [runtime] key`],
        [`[runtime]\ncompute_on_queue_full = "drop"`, `compute_on_queue_full = "drop" is invalid: it must be`],
        [`[runtime]\ncompute_idle_spin = "soon"`, `compute_idle_spin = "soon" is invalid: it must be a duration`]
      ]
      for (const [toml, expected] of cases) {
        const exit = yield* Effect.exit(
          Effect.flatMap(ComputeConfig.fromToml(toml), (config) => ComputeConfig.toPoolOptions("worker.ts", config))
        )
        assert.include(messageOf(exit), expected)
      }
      assert.include(messageOf(yield* Effect.exit(ComputeConfig.fromToml("[runtime"))), "it is not valid TOML")
    }))

  it.effect("every field is read alike from TOML and from the environment, by its one entry in the options table", () =>
    Effect.gen(function*() {
      // A value for each field: a field added to the table needs one here.
      const sample: ComputeConfig.ComputeConfig = {
        threads: 3,
        ioThreads: 2,
        stackSize: "4MB",
        maxHeapMb: 64,
        threadNamePrefix: "sample",
        maxInFlightPerWorker: 5,
        maxQueue: 100,
        onQueueFull: "fail",
        slowTaskThreshold: "250 millis",
        interruptGracePeriod: "2 seconds",
        shutdownTimeout: "3 seconds",
        idleSpin: "20 micros"
      }
      assert.sameMembers(Object.keys(sample), Object.keys(ComputeConfig.ComputeConfig.fields))
      assert.strictEqual(
        new Set(configSides.map(([, side]) => side.toml)).size,
        configSides.length,
        "one TOML key each"
      )
      assert.strictEqual(new Set(configSides.map(([, side]) => side.env)).size, configSides.length, "one variable each")
      const toml = [
        "[runtime]",
        ...configSides.map(([field, side]) => `${side.toml} = ${JSON.stringify(sample[field])}`)
      ]
      const env = Object.fromEntries(configSides.map(([field, side]) => [side.env, String(sample[field])]))
      assert.deepStrictEqual(yield* ComputeConfig.fromToml(toml.join("\n")), sample)
      assert.deepStrictEqual(
        yield* Effect.provide(ComputeConfig.config, ConfigProvider.layer(ConfigProvider.fromEnvRecord(env))),
        sample
      )
      assert.deepStrictEqual(yield* ComputeConfig.toPoolOptions("worker.ts", sample), {
        entry: "worker.ts",
        threads: 3,
        ioThreads: 2,
        resourceLimits: { stackSizeMb: 4, maxOldGenerationSizeMb: 64 },
        name: "sample",
        maxInFlightPerWorker: 5,
        maxQueue: 100,
        onQueueFull: "fail",
        slowTaskThreshold: 250,
        interruptGracePeriod: 2_000,
        shutdownTimeout: 3_000,
        idleSpin: 0.02
      })
    }))

  it("parses sizes in binary units", () => {
    assert.strictEqual(ComputeConfig.parseBytes("4MB"), 4 * 1024 * 1024)
    assert.strictEqual(ComputeConfig.parseBytes("512 kb"), 512 * 1024)
    assert.strictEqual(ComputeConfig.parseBytes(131_072), 131_072)
    assert.isUndefined(ComputeConfig.parseBytes("4 parsecs"))
  })

  it("warns about oversubscription with the numbers, as the reference recommends", () => {
    assert.isUndefined(ComputeConfig.oversubscription(4, 1, 8))
    assert.strictEqual(
      ComputeConfig.oversubscription(8, 16, 8),
      "compute pool oversubscribes the machine: 8 pool threads + 1 main thread + 16 I/O threads = 25 threads on " +
        "8 cores, above the recommended 1.5 × cores = 12"
    )
  })

  it.effect("layerConfig reads COMPUTE_* values through the installed ConfigProvider", () =>
    Effect.gen(function*() {
      const stats = yield* ComputePool.stats
      assert.strictEqual(stats.threads, 1)
      assert.strictEqual(yield* ComputePool.execute(Add, [20, 22]), 42)
    }).pipe(
      Effect.provide(
        ComputePool.layerConfig(entry).pipe(
          Layer.provide(ConfigProvider.layer(ConfigProvider.fromEnvRecord({ COMPUTE_THREADS: "1" })))
        )
      )
    ))

  it.effect("compute_threads = 0 disables the pool: the entry's tasks and Layer run inline", () =>
    Effect.gen(function*() {
      assert.strictEqual((yield* ComputePool.stats).threads, 0)
      assert.strictEqual(yield* ComputePool.execute(Add, [1, 1]), 2)
      const resource = yield* ComputePool.execute(UseResource, undefined)
      assert.strictEqual(resource.workerId, -1)
      assert.strictEqual(resource.tag, "built-once")
    }).pipe(Effect.provide(ComputePool.layerFromConfig(entry, { threads: 0 }))))

  it.effect("compute_threads = 0 works each time the Layer is built, not only the first time in a process", () =>
    Effect.gen(function*() {
      const disabled = ComputePool.layerFromConfig(entry, ComputeConfig.fromToml("[runtime]\ncompute_threads = 0"))
      for (let build = 0; build < 3; build++) {
        const sum = yield* ComputePool.execute(Add, [build, 1]).pipe(Effect.provide(disabled, { local: true }))
        assert.strictEqual(sum, build + 1)
      }
    }))

  it.effect("compute_threads = 0 with an entry that serves nothing fails the Layer with WorkerStartFailed", () =>
    Effect.gen(function*() {
      const notAnEntry = new URL("./fixtures/tasks.ts", import.meta.url)
      const exit = yield* Effect.exit(
        Layer.build(ComputePool.layerFromConfig(notAnEntry, { threads: 0 })).pipe(
          Effect.scoped
        )
      )
      assert.isTrue(Exit.isFailure(exit))
      const error = Cause.squash((exit as Exit.Failure<unknown, unknown>).cause)
      assert.isTrue(ComputeError.isComputeError(error), `expected a ComputeError, got ${String(error)}`)
      const reason = (error as ComputeError.ComputeError).reason
      assert.strictEqual(reason._tag, "WorkerStartFailed")
      assert.include(reason.message, "did not call ComputeWorker.serve")
    }))

  it.effect("a bad COMPUTE_THREADS fails the Layer with InvalidOptions", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(
        Layer.build(
          ComputePool.layerConfig(entry).pipe(
            Layer.provide(ConfigProvider.layer(ConfigProvider.fromEnvRecord({ COMPUTE_THREADS: "many" })))
          )
        ).pipe(Effect.scoped)
      )
      assert.include(messageOf(exit), "COMPUTE_THREADS")
    }))
})
