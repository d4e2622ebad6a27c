/**
 * Configuration of a compute pool — the Rust runtime's `ComputeConfig` and its `[runtime]` keys — from Effect `Config`
 * (environment variables, or any `ConfigProvider`), from a TOML file, or from the Rust runtime's three presets.
 *
 * Every value is checked when the pool's Layer is built; a bad one fails it with `InvalidOptions`, whose message
 * names the key, the value and the rule (`compute_stack_size = "64KB" is invalid: it must be at least 128KB`).
 *
 * @since 0.1.0
 * @module
 */
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { readFile } from "node:fs/promises"
import { availableParallelism } from "node:os"
import { parse as parseToml } from "smol-toml"
import type { ComputeError } from "./ComputeError.ts"
import type { ComputePoolOptions } from "./ComputePool.ts"
import { defaultThreads, durationMillis, invalid } from "./internal/main/options.ts"

/**
 * The configuration, as plain data. Every field is optional; what is left out takes the pool's default.
 *
 * @category models
 * @since 0.1.0
 */
export const ComputeConfig = Schema.Struct({
  /** `compute_threads`: worker threads; 0 disables the pool (tasks run inline on the calling thread). */
  threads: Schema.optional(Schema.Number),
  /** `num_worker_threads`: threads the rest of the process uses for I/O, counted for the oversubscription check. */
  ioThreads: Schema.optional(Schema.Number),
  /** `compute_stack_size`: "2MB", "512KB" or a number of bytes, at least 128KB. */
  stackSize: Schema.optional(Schema.Union([Schema.String, Schema.Number])),
  /** `compute_max_heap_mb`: each worker's old-generation heap limit. */
  maxHeapMb: Schema.optional(Schema.Number),
  /** `compute_thread_prefix`: thread names are `${prefix}-${id}`. */
  threadNamePrefix: Schema.optional(Schema.String),
  /** `compute_max_in_flight`: tasks sent to a worker before it answers. */
  maxInFlightPerWorker: Schema.optional(Schema.Number),
  /** `compute_max_queue`: tasks waiting on the main thread before callers suspend (or fail). */
  maxQueue: Schema.optional(Schema.Number),
  /** `compute_on_queue_full`: "suspend" or "fail". */
  onQueueFull: Schema.optional(Schema.Literals(["suspend", "fail"])),
  /** `compute_slow_task_threshold`: "100 millis", or milliseconds. */
  slowTaskThreshold: Schema.optional(Schema.Union([Schema.String, Schema.Number])),
  /** `compute_interrupt_grace`: how long an interrupted task may ignore the signal. */
  interruptGracePeriod: Schema.optional(Schema.Union([Schema.String, Schema.Number])),
  /** `compute_shutdown_timeout`: how long closing waits for tasks. */
  shutdownTimeout: Schema.optional(Schema.Union([Schema.String, Schema.Number])),
  /** `compute_idle_spin`: how long an idle worker looks for work before it sleeps: "50 micros", or milliseconds. */
  idleSpin: Schema.optional(Schema.Union([Schema.String, Schema.Number]))
})

/**
 * @category models
 * @since 0.1.0
 */
export type ComputeConfig = typeof ComputeConfig.Type

/** The key each field has in TOML's `[runtime]` table, also used in error messages. */
const tomlKeys: Record<keyof ComputeConfig, string> = {
  threads: "compute_threads",
  ioThreads: "num_worker_threads",
  stackSize: "compute_stack_size",
  maxHeapMb: "compute_max_heap_mb",
  threadNamePrefix: "compute_thread_prefix",
  maxInFlightPerWorker: "compute_max_in_flight",
  maxQueue: "compute_max_queue",
  onQueueFull: "compute_on_queue_full",
  slowTaskThreshold: "compute_slow_task_threshold",
  interruptGracePeriod: "compute_interrupt_grace",
  shutdownTimeout: "compute_shutdown_timeout",
  idleSpin: "compute_idle_spin"
}

/**
 * The Rust runtime's three configurations, ready to use (`[runtime]` `num_worker_threads`, `compute_threads`,
 * `compute_stack_size`).
 *
 * @example
 * ```ts
 * import { ComputeConfig, ComputePool } from "effect-compute"
 *
 * const Pool = ComputePool.layerFromConfig(new URL("./worker.ts", import.meta.url), ComputeConfig.presets.mixed)
 * ```
 *
 * @category presets
 * @since 0.1.0
 */
export const presets = {
  /** Many concurrent requests, moderate compute per request. */
  highThroughput: { ioThreads: 16, threads: 8, stackSize: "4MB" },
  /** Few concurrent tasks, heavy compute per batch. */
  batch: { ioThreads: 4, threads: 12, stackSize: "8MB" },
  /** A balance between async I/O and compute. */
  mixed: { ioThreads: 8, threads: 6, stackSize: "2MB" }
} as const satisfies Record<string, ComputeConfig>

const optional = <A>(config: Config.Config<A>) => Config.map(Config.option(config), Option.getOrUndefined)

/**
 * The configuration from Effect `Config`: environment variables `COMPUTE_THREADS`, `COMPUTE_IO_THREADS`,
 * `COMPUTE_STACK_SIZE`, `COMPUTE_MAX_HEAP_MB`, `COMPUTE_THREAD_PREFIX`, `COMPUTE_MAX_IN_FLIGHT`, `COMPUTE_MAX_QUEUE`,
 * `COMPUTE_ON_QUEUE_FULL`, `COMPUTE_SLOW_TASK_THRESHOLD`, `COMPUTE_INTERRUPT_GRACE`, `COMPUTE_SHUTDOWN_TIMEOUT`,
 * `COMPUTE_IDLE_SPIN` by default, or whatever `ConfigProvider` is installed.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { ComputeConfig } from "effect-compute"
 *
 * // COMPUTE_THREADS=4 COMPUTE_STACK_SIZE=4MB node main.ts
 * const fromEnv = Effect.flatMap(ComputeConfig.config, (config) => ComputeConfig.toPoolOptions("./worker.ts", config))
 * ```
 *
 * @category config
 * @since 0.1.0
 */
export const config: Config.Config<ComputeConfig> = Config.all({
  threads: optional(Config.Number("COMPUTE_THREADS")),
  ioThreads: optional(Config.Number("COMPUTE_IO_THREADS")),
  stackSize: optional(Config.String("COMPUTE_STACK_SIZE")),
  maxHeapMb: optional(Config.Number("COMPUTE_MAX_HEAP_MB")),
  threadNamePrefix: optional(Config.String("COMPUTE_THREAD_PREFIX")),
  maxInFlightPerWorker: optional(Config.Number("COMPUTE_MAX_IN_FLIGHT")),
  maxQueue: optional(Config.Number("COMPUTE_MAX_QUEUE")),
  onQueueFull: optional(Config.String("COMPUTE_ON_QUEUE_FULL")) as Config.Config<"suspend" | "fail" | undefined>,
  slowTaskThreshold: optional(Config.String("COMPUTE_SLOW_TASK_THRESHOLD")),
  interruptGracePeriod: optional(Config.String("COMPUTE_INTERRUPT_GRACE")),
  shutdownTimeout: optional(Config.String("COMPUTE_SHUTDOWN_TIMEOUT")),
  idleSpin: optional(Config.String("COMPUTE_IDLE_SPIN"))
}).pipe(Config.map((fields) => {
  const defined: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(fields)) if (value !== undefined) defined[key] = value
  return defined as ComputeConfig
}))

const key = (field: keyof ComputeConfig) => tomlKeys[field]

/**
 * Reads the `[runtime]` table of a TOML document: the Rust runtime's keys (`num_worker_threads`, `compute_threads`,
 * `compute_stack_size = "4MB"`) and this library's own (`compute_max_heap_mb`, `compute_max_in_flight`, ...). Unknown
 * keys are an error, so a typo does not pass silently.
 *
 * @example
 * ```ts
 * import { ComputeConfig } from "effect-compute"
 *
 * const config = ComputeConfig.fromToml(`
 * [runtime]
 * num_worker_threads = 8
 * compute_threads = 4
 * compute_stack_size = "4MB"
 * `)
 * ```
 *
 * @category toml
 * @since 0.1.0
 */
export const fromToml = (text: string): Effect.Effect<ComputeConfig, ComputeError> =>
  Effect.gen(function*() {
    let document: Record<string, unknown>
    try {
      document = parseToml(text) as Record<string, unknown>
    } catch (cause) {
      return yield* invalid("toml", "(document)", `it is not valid TOML: ${(cause as Error).message}`)
    }
    const runtime = document["runtime"]
    if (runtime === undefined) return {}
    if (typeof runtime !== "object" || runtime === null || Array.isArray(runtime)) {
      return yield* invalid("runtime", runtime, "it must be a table ([runtime])")
    }
    const byTomlKey = new Map(Object.entries(tomlKeys).map(([field, key]) => [key, field]))
    const out: Record<string, unknown> = {}
    for (const [key, value] of Object.entries(runtime)) {
      const field = byTomlKey.get(key)
      if (field === undefined) {
        return yield* invalid(
          key,
          value,
          `it is not a known [runtime] key (known: ${[...byTomlKey.keys()].join(", ")})`
        )
      }
      out[field] = value
    }
    // Values are checked, with messages naming their [runtime] key, when the configuration is used.
    return out as ComputeConfig
  })

/**
 * Reads a TOML file's `[runtime]` table (see {@link fromToml}).
 *
 * @example
 * ```ts
 * import { ComputeConfig, ComputePool } from "effect-compute"
 *
 * const Pool = ComputePool.layerFromConfig(new URL("./worker.ts", import.meta.url), ComputeConfig.loadToml("runtime.toml"))
 * ```
 *
 * @category toml
 * @since 0.1.0
 */
export const loadToml = (path: string | URL): Effect.Effect<ComputeConfig, ComputeError> =>
  Effect.tryPromise({
    try: () => readFile(path, "utf8"),
    catch: (cause) => invalid("toml", String(path), `the file could not be read: ${(cause as Error).message}`)
  }).pipe(Effect.flatMap(fromToml))

const units: Record<string, number> = {
  b: 1,
  kb: 1024,
  k: 1024,
  mb: 1024 ** 2,
  m: 1024 ** 2,
  gb: 1024 ** 3,
  g: 1024 ** 3
}

/**
 * Parses a size — a number of bytes, or a string like "4MB", "512KB", "1.5 MB" (binary units) — into bytes.
 *
 * @example
 * ```ts
 * import { ComputeConfig } from "effect-compute"
 *
 * ComputeConfig.parseBytes("4MB") // 4194304
 * ComputeConfig.parseBytes("lots") // undefined
 * ```
 *
 * @category parsing
 * @since 0.1.0
 */
export const parseBytes = (value: string | number): number | undefined => {
  if (typeof value === "number") return Number.isFinite(value) ? value : undefined
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(value)
  if (match === null) return undefined
  const unit = units[(match[2] || "b").toLowerCase()]
  return unit === undefined ? undefined : Number(match[1]) * unit
}

/**
 * Checks a configuration and turns it into `ComputePool.layer` options for a worker entry. Fails with
 * `InvalidOptions` naming the key, the value and the rule.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { ComputeConfig, ComputePool } from "effect-compute"
 *
 * const Pool = ComputeConfig.toPoolOptions("./worker.ts", ComputeConfig.presets.batch).pipe(
 *   Effect.map((options) => ComputePool.layer(options))
 * )
 * ```
 *
 * @category resolving
 * @since 0.1.0
 */
export const toPoolOptions = (
  entry: string | URL,
  config: ComputeConfig
): Effect.Effect<ComputePoolOptions & { readonly threads: number; readonly ioThreads: number }, ComputeError> =>
  Effect.gen(function*() {
    const integer = (field: keyof ComputeConfig, min: number) => {
      const value = config[field]
      if (value === undefined) return Effect.succeed(undefined)
      return typeof value === "number" && Number.isSafeInteger(value) && value >= min
        ? Effect.succeed(value)
        : Effect.fail(invalid(key(field), value, `it must be an integer of at least ${min}`))
    }
    const threads = yield* integer("threads", 0)
    const ioThreads = (yield* integer("ioThreads", 0)) ?? 0
    const maxHeapMb = yield* integer("maxHeapMb", 16)
    const maxInFlightPerWorker = yield* integer("maxInFlightPerWorker", 1)
    const maxQueue = yield* integer("maxQueue", 1)
    let stackSizeMb: number | undefined
    if (config.stackSize !== undefined) {
      const bytes = parseBytes(config.stackSize)
      if (bytes === undefined) {
        return yield* invalid(key("stackSize"), config.stackSize, `it must be a size such as "4MB", "512KB" or bytes`)
      }
      if (bytes < 128 * 1024) return yield* invalid(key("stackSize"), config.stackSize, "it must be at least 128KB")
      stackSizeMb = bytes / 1024 ** 2
    }
    const millis = (field: "slowTaskThreshold" | "interruptGracePeriod" | "shutdownTimeout" | "idleSpin") =>
      config[field] === undefined ? Effect.succeed(undefined) : durationMillis(key(field), config[field])
    const slowTaskThreshold = yield* millis("slowTaskThreshold")
    const interruptGracePeriod = yield* millis("interruptGracePeriod")
    const shutdownTimeout = yield* millis("shutdownTimeout")
    const idleSpin = yield* millis("idleSpin")
    if (
      config.threadNamePrefix !== undefined &&
      (typeof config.threadNamePrefix !== "string" || config.threadNamePrefix.trim() === "")
    ) {
      return yield* invalid(key("threadNamePrefix"), config.threadNamePrefix, "it must be a non-empty string")
    }
    const resourceLimits = stackSizeMb === undefined && maxHeapMb === undefined ? undefined : {
      ...(stackSizeMb === undefined ? {} : { stackSizeMb }),
      ...(maxHeapMb === undefined ? {} : { maxOldGenerationSizeMb: maxHeapMb })
    }
    const options = {
      entry,
      threads: threads ?? defaultThreads(),
      ioThreads,
      ...(config.threadNamePrefix === undefined ? {} : { name: config.threadNamePrefix }),
      ...(maxInFlightPerWorker === undefined ? {} : { maxInFlightPerWorker }),
      ...(maxQueue === undefined ? {} : { maxQueue }),
      ...(config.onQueueFull === undefined ? {} : { onQueueFull: config.onQueueFull }),
      ...(resourceLimits === undefined ? {} : { resourceLimits }),
      ...(slowTaskThreshold === undefined ? {} : { slowTaskThreshold }),
      ...(interruptGracePeriod === undefined ? {} : { interruptGracePeriod }),
      ...(shutdownTimeout === undefined ? {} : { shutdownTimeout }),
      ...(idleSpin === undefined ? {} : { idleSpin })
    }
    if (config.onQueueFull !== undefined && config.onQueueFull !== "suspend" && config.onQueueFull !== "fail") {
      return yield* invalid(key("onQueueFull"), config.onQueueFull, `it must be "suspend" or "fail"`)
    }
    return options
  })

/**
 * The oversubscription check of the Rust runtime: pool threads + the main thread + `ioThreads` should stay within 1.5×
 * the cores. Returns the warning to log, if any.
 *
 * @example
 * ```ts
 * import { ComputeConfig } from "effect-compute"
 *
 * ComputeConfig.oversubscription(8, 16, 8) // "... 25 threads on 8 cores, above the recommended 1.5 × cores = 12"
 * ComputeConfig.oversubscription(4, 1, 8) // undefined
 * ```
 *
 * @category resolving
 * @since 0.1.0
 */
export const oversubscription = (
  threads: number,
  ioThreads: number,
  cores: number = availableParallelism()
): string | undefined => {
  const total = threads + 1 + ioThreads
  const limit = 1.5 * cores
  return total > limit
    ? `compute pool oversubscribes the machine: ${threads} pool threads + 1 main thread + ${ioThreads} I/O threads = ` +
      `${total} threads on ${cores} cores, above the recommended 1.5 × cores = ${limit}`
    : undefined
}
