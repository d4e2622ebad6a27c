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
import * as Options from "./internal/main/options.ts"

/**
 * The configuration, as plain data. Every field is optional; what is left out takes the pool's default. Each field's
 * doc names its TOML key and its environment variable.
 *
 * @category models
 * @since 0.1.0
 */
export const ComputeConfig = Schema.Struct(Options.configFields)

/**
 * @category models
 * @since 0.1.0
 */
export type ComputeConfig = typeof ComputeConfig.Type

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
 * `COMPUTE_STACK_SIZE`... by default (each {@link ComputeConfig} field's doc names its own), or whatever
 * `ConfigProvider` is installed.
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
export const config: Config.Config<ComputeConfig> = Config.all(
  Object.fromEntries(Options.configSides.map(([field, side]) => [field, optional(side.read(side.env))]))
).pipe(Config.map((fields) => {
  const defined: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(fields)) if (value !== undefined) defined[key] = value
  return defined as ComputeConfig
}))

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
      return yield* Options.invalid("toml", "(document)", `it is not valid TOML: ${(cause as Error).message}`)
    }
    const runtime = document["runtime"]
    if (runtime === undefined) return {}
    if (typeof runtime !== "object" || runtime === null || Array.isArray(runtime)) {
      return yield* Options.invalid("runtime", runtime, "it must be a table ([runtime])")
    }
    const byTomlKey = new Map(Options.configSides.map(([field, side]) => [side.toml, field]))
    const out: Record<string, unknown> = {}
    for (const [key, value] of Object.entries(runtime)) {
      const field = byTomlKey.get(key)
      if (field === undefined) {
        return yield* Options.invalid(
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
    catch: (cause) => Options.invalid("toml", String(path), `the file could not be read: ${(cause as Error).message}`)
  }).pipe(Effect.flatMap(fromToml))

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
export const parseBytes: (value: string | number) => number | undefined = Options.parseBytes

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
    const options: Record<string, unknown> = {}
    for (const [field, side] of Options.configSides) {
      const value = config[field]
      if (value === undefined) continue
      const checked = yield* side.rule(side.toml, value)
      for (const [key, part] of Object.entries(side.into?.(checked) ?? { [field]: checked })) {
        // Two fields fill resourceLimits: merge them.
        options[key] = typeof part === "object" && part !== null
          ? { ...(options[key] as object | undefined), ...part }
          : part
      }
    }
    return {
      entry,
      ...options,
      threads: (options["threads"] as number | undefined) ?? Options.defaultThreads(),
      ioThreads: (options["ioThreads"] as number | undefined) ?? 0
    }
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
