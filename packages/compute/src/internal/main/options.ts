/**
 * The pool's options, each declared once (`options` below): how `ComputePool.layer` checks it and what it takes by
 * default, and — for those a `ComputeConfig` can set — its `[runtime]` key in TOML, its environment variable, its
 * schema and its rule there. `ComputePool` resolves its options from this table; `ComputeConfig` derives its schema,
 * its TOML keys, its `Config` and `toPoolOptions` from it. Adding an option is an entry here (and its doc comment on
 * `ComputePoolOptions`).
 *
 * Also the one message format for a bad value — the key, the value and the rule — and the one parser of each kind of
 * value.
 */
import * as Config from "effect/Config"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { availableParallelism } from "node:os"
import { ComputeError, InvalidOptions } from "../../ComputeError.ts"
import type { ComputePoolOptions, MakeOptions } from "../../ComputePool.ts"
import type { QuarantineOptions } from "./quarantine.ts"

export const invalid = (key: string, value: unknown, rule: string): ComputeError =>
  new ComputeError({
    reason: new InvalidOptions({
      key,
      message: `${key} = ${typeof value === "string" ? JSON.stringify(value) : String(value)} is invalid: ${rule}`
    })
  })

export const positiveInteger = (key: string, value: unknown): Effect.Effect<number, ComputeError> =>
  Number.isSafeInteger(value) && (value as number) > 0
    ? Effect.succeed(value as number)
    : Effect.fail(invalid(key, value, "it must be a positive integer"))

const shortDuration = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)\s*$/

/**
 * A duration in milliseconds: a number of milliseconds, an Effect `Duration` or duration string ("2 seconds",
 * "100 millis"), or the short forms "100ms", "2s", "1m".
 */
export const durationMillis = (key: string, value: unknown): Effect.Effect<number, ComputeError> => {
  if (typeof value === "string") {
    const short = shortDuration.exec(value)
    if (short !== null) {
      const amount = Number(short[1])
      return Effect.succeed(short[2] === "ms" ? amount : short[2] === "s" ? amount * 1_000 : amount * 60_000)
    }
  }
  const duration = Duration.fromInput(value as Duration.Input)
  return duration._tag === "Some" && Duration.toMillis(duration.value) >= 0
    ? Effect.succeed(Duration.toMillis(duration.value))
    : Effect.fail(invalid(key, value, `it must be a duration such as "100ms", "2 seconds" or milliseconds`))
}

/** A pool's name when none is given: its metrics' attribute, and the prefix of its workers' thread names. */
export const defaultPoolName = "effect-compute"

/**
 * The default number of workers: half the cores, clamped to 2..16 (leave the other half to the I/O side), and never
 * more than the machine has.
 */
export const defaultThreads = (cores: number = availableParallelism()): number =>
  Math.min(Math.max(Math.floor(cores / 2), 2), 16, Math.max(cores, 1))

const units: Record<string, number> = {
  b: 1,
  kb: 1024,
  k: 1024,
  mb: 1024 ** 2,
  m: 1024 ** 2,
  gb: 1024 ** 3,
  g: 1024 ** 3
}

/** A size in bytes: a number, or a string like "4MB", "512KB", "1.5 MB" (binary units); undefined if it is not one. */
export const parseBytes = (value: string | number): number | undefined => {
  if (typeof value === "number") return Number.isFinite(value) ? value : undefined
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(value)
  if (match === null) return undefined
  const unit = units[(match[2] || "b").toLowerCase()]
  return unit === undefined ? undefined : Number(match[1]) * unit
}

/** Checks a value under its key: what it resolves to, or `InvalidOptions` naming the key, the value and the rule. */
export type Rule<A> = (key: string, value: unknown) => Effect.Effect<A, ComputeError>

// Rules of `ComputePool.layer`'s options: each one is called with the value given, undefined included.

/** The default where no value is given, the rule where one is. */
const orDefault = <A, F>(rule: Rule<A>, fallback: () => F): Rule<A | F> => (key, value) =>
  value === undefined ? Effect.succeed(fallback()) : rule(key, value)

const integer = <F extends number | undefined>(fallback: F | (() => F)): Rule<number | F> =>
  orDefault(positiveInteger, typeof fallback === "function" ? fallback : () => fallback)

const duration = <F extends number | undefined>(fallback: F): Rule<number | F> =>
  orDefault(durationMillis, () => fallback)

/** Taken as given: its type is the check. */
const unchecked = <A>(): Rule<A> => (_key, value) => Effect.succeed(value as A)

const quarantine: Rule<QuarantineOptions | undefined> = Effect.fnUntraced(function*(key: string, value: unknown) {
  if (value === false) return undefined
  const { crashes, for: cooling, within } = (value ?? {}) as Exclude<MakeOptions["quarantine"], false | undefined>
  return {
    crashes: yield* integer(5)(`${key}.crashes`, crashes),
    withinMs: yield* duration(60_000)(`${key}.within`, within),
    forMs: yield* duration(60_000)(`${key}.for`, cooling)
  }
})

// Rules of a `ComputeConfig`'s values (TOML, environment): their messages name the TOML key.

const integerAtLeast = (min: number): Rule<number> => (key, value) =>
  typeof value === "number" && Number.isSafeInteger(value) && value >= min
    ? Effect.succeed(value)
    : Effect.fail(invalid(key, value, `it must be an integer of at least ${min}`))

const oneOf = <const L extends ReadonlyArray<string>>(literals: L): Rule<L[number]> => (key, value) =>
  literals.includes(value as string)
    ? Effect.succeed(value as L[number])
    : Effect.fail(invalid(key, value, `it must be ${literals.map((literal) => JSON.stringify(literal)).join(" or ")}`))

const nonEmptyString: Rule<string> = (key, value) =>
  typeof value === "string" && value.trim() !== ""
    ? Effect.succeed(value)
    : Effect.fail(invalid(key, value, "it must be a non-empty string"))

/** A stack size, in MB for `resourceLimits.stackSizeMb`. */
const stackSizeMb: Rule<number> = (key, value) => {
  const bytes = parseBytes(value as string | number)
  if (bytes === undefined) {
    return Effect.fail(invalid(key, value, `it must be a size such as "4MB", "512KB" or bytes`))
  }
  return bytes < 128 * 1024
    ? Effect.fail(invalid(key, value, "it must be at least 128KB"))
    : Effect.succeed(bytes / 1024 ** 2)
}

/** What `ComputeConfig.toPoolOptions` fills in: the pool's options, and `ioThreads` for the oversubscription check. */
export type FromConfig = Partial<Omit<ComputePoolOptions, "entry"> & { readonly ioThreads: number }>

/** Where an option comes from in a `ComputeConfig`. */
export interface ConfigSide<S extends Schema.Constraint, C> {
  /** its key in TOML's `[runtime]` table, which its error messages name */
  readonly toml: string
  /** its environment variable (its name under any `ConfigProvider`), which `ComputeConfig.config` reads */
  readonly env: string
  /** how `ComputeConfig.config` reads it: `Config.Number` or `Config.String` */
  readonly read: (name: string) => Config.Config<unknown>
  /** what a `ComputeConfig` holds */
  readonly schema: S
  readonly rule: Rule<C>
  /** where the checked value goes; by default, the pool option of the same name */
  readonly into?: (value: C) => FromConfig
}

const configSide = <S extends Schema.Constraint, C>(side: ConfigSide<S, C>): ConfigSide<S, C> => side

const count = (toml: string, env: string, min: number) =>
  configSide({ toml, env, read: Config.Number, schema: Schema.Number, rule: integerAtLeast(min) })

/** A size or a duration: "4MB" or bytes, "100 millis" or milliseconds. */
const stringOrNumber = Schema.Union([Schema.String, Schema.Number])

const time = (toml: string, env: string) =>
  configSide({ toml, env, read: Config.String, schema: stringOrNumber, rule: durationMillis })

/**
 * Every option, in the order it is checked. `pool`: the rule `ComputePool.layer` checks it with (under its option
 * name), its default included; `config`: where a `ComputeConfig` sets it. The doc comment of an entry with a `config`
 * side is that `ComputeConfig` field's.
 */
export const options = {
  /**
   * `compute_threads`, `COMPUTE_THREADS`: worker threads; 0 disables the pool (tasks run inline on the calling thread).
   */
  threads: { pool: integer(() => defaultThreads()), config: count("compute_threads", "COMPUTE_THREADS", 0) },
  maxThreads: { pool: integer(undefined) },
  /**
   * `num_worker_threads`, `COMPUTE_IO_THREADS`: threads the rest of the process uses for I/O, counted for the
   * oversubscription check.
   */
  ioThreads: { config: count("num_worker_threads", "COMPUTE_IO_THREADS", 0) },
  /** `compute_stack_size`, `COMPUTE_STACK_SIZE`: "2MB", "512KB" or a number of bytes, at least 128KB. */
  stackSize: {
    config: configSide({
      toml: "compute_stack_size",
      env: "COMPUTE_STACK_SIZE",
      read: Config.String,
      schema: stringOrNumber,
      rule: stackSizeMb,
      into: (stackSizeMb) => ({ resourceLimits: { stackSizeMb } })
    })
  },
  /** `compute_max_heap_mb`, `COMPUTE_MAX_HEAP_MB`: each worker's old-generation heap limit. */
  maxHeapMb: {
    config: configSide({
      ...count("compute_max_heap_mb", "COMPUTE_MAX_HEAP_MB", 16),
      into: (maxOldGenerationSizeMb) => ({ resourceLimits: { maxOldGenerationSizeMb } })
    })
  },
  /** `compute_thread_prefix`, `COMPUTE_THREAD_PREFIX`: thread names are `${prefix}-${id}`. */
  threadNamePrefix: {
    config: configSide({
      toml: "compute_thread_prefix",
      env: "COMPUTE_THREAD_PREFIX",
      read: Config.String,
      schema: Schema.String,
      rule: nonEmptyString,
      into: (name) => ({ name })
    })
  },
  /** `compute_max_in_flight`, `COMPUTE_MAX_IN_FLIGHT`: tasks sent to a worker before it answers. */
  maxInFlightPerWorker: { pool: integer(16), config: count("compute_max_in_flight", "COMPUTE_MAX_IN_FLIGHT", 1) },
  /** `compute_max_queue`, `COMPUTE_MAX_QUEUE`: tasks waiting on the main thread before callers suspend (or fail). */
  maxQueue: { pool: integer(65_536), config: count("compute_max_queue", "COMPUTE_MAX_QUEUE", 1) },
  /** `compute_on_queue_full`, `COMPUTE_ON_QUEUE_FULL`: "suspend" or "fail". */
  onQueueFull: {
    // The pool's option is typed: anything but "fail" suspends.
    pool: (_key: string, value: unknown) => Effect.succeed(value === "fail" ? "fail" as const : "suspend" as const),
    config: configSide({
      toml: "compute_on_queue_full",
      env: "COMPUTE_ON_QUEUE_FULL",
      read: Config.String,
      schema: Schema.Literals(["suspend", "fail"]),
      rule: oneOf(["suspend", "fail"])
    })
  },
  /** `compute_slow_task_threshold`, `COMPUTE_SLOW_TASK_THRESHOLD`: "100 millis", or milliseconds. */
  slowTaskThreshold: {
    pool: duration(100),
    config: time("compute_slow_task_threshold", "COMPUTE_SLOW_TASK_THRESHOLD")
  },
  /** `compute_interrupt_grace`, `COMPUTE_INTERRUPT_GRACE`: how long an interrupted task may ignore the signal. */
  interruptGracePeriod: { pool: duration(1_000), config: time("compute_interrupt_grace", "COMPUTE_INTERRUPT_GRACE") },
  /** `compute_shutdown_timeout`, `COMPUTE_SHUTDOWN_TIMEOUT`: how long closing waits for tasks. */
  shutdownTimeout: { pool: duration(10_000), config: time("compute_shutdown_timeout", "COMPUTE_SHUTDOWN_TIMEOUT") },
  /**
   * `compute_idle_spin`, `COMPUTE_IDLE_SPIN`: how long an idle worker looks for work before it sleeps: "50 micros", or
   * milliseconds.
   */
  idleSpin: { pool: duration(0.05), config: time("compute_idle_spin", "COMPUTE_IDLE_SPIN") },
  idleTimeout: { pool: duration(30_000) },
  workerStartTimeout: { pool: duration(60_000) },
  maxTasksPerWorker: { pool: integer(undefined) },
  maxWorkerAge: { pool: duration(undefined) },
  recycleAboveHeapMb: { pool: integer(undefined) },
  priorityAging: { pool: duration(100) },
  quarantine: { pool: quarantine },
  tracing: { pool: unchecked<boolean | undefined>() },
  metrics: { pool: unchecked<boolean | undefined>() },
  name: { pool: unchecked<string | undefined>() }
}

type Options = typeof options

type PoolKey = { [K in keyof Options]: Options[K] extends { readonly pool: unknown } ? K : never }[keyof Options]

/** `ComputePool.make`'s options, checked, with their defaults: durations in milliseconds. */
export type ResolvedOptions = {
  readonly [K in keyof Options as K extends PoolKey ? K : never]: Options[K] extends { readonly pool: Rule<infer A> } ?
    A
    : never
}

// A type error here names an option of `ComputePool.make` that the table lacks.
type Complete = [Exclude<keyof MakeOptions, PoolKey>] extends [never] ? unknown
  : { readonly "an option of ComputePool.make has no entry in the options table": Exclude<keyof MakeOptions, PoolKey> }

/** Checks `ComputePool.make`'s options by the table's rules, in its order; fills in the defaults. */
export const resolvePoolOptions = Effect.fnUntraced(function*(given: MakeOptions & Complete) {
  const resolved: Record<string, unknown> = {}
  for (const [key, option] of Object.entries(options)) {
    if ("pool" in option) resolved[key] = yield* option.pool(key, (given as Record<string, unknown>)[key])
  }
  return resolved as ResolvedOptions
})

/** The `ComputeConfig` schema's fields: one per option with a `config` side, with its doc comment. */
export type ConfigFields = {
  readonly [K in keyof Options as Options[K] extends { readonly config: unknown } ? K : never]: Options[K] extends
    { readonly config: ConfigSide<infer S, any> } ? Schema.optional<S> : never
}

/** The options a `ComputeConfig` sets, with their field names, in the table's order. */
export const configSides: ReadonlyArray<
  readonly [keyof ConfigFields & string, ConfigSide<Schema.Constraint, unknown>]
> = Object.entries(options).flatMap(([field, option]) =>
  "config" in option ? [[field as keyof ConfigFields, option.config as ConfigSide<Schema.Constraint, unknown>]] : []
)

export const configFields: ConfigFields = Object.fromEntries(
  configSides.map(([field, side]) => [field, Schema.optional(side.schema)])
) as ConfigFields
