/**
 * Option values, for both ways of configuring a pool (`ComputePool.layer`'s options and `ComputeConfig`): one message
 * format for a bad value — the key, the value and the rule — and the one parser of each kind of value.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { availableParallelism } from "node:os"
import { ComputeError, InvalidOptions } from "../../ComputeError.ts"

export const invalid = (key: string, value: unknown, rule: string): ComputeError =>
  new ComputeError({
    reason: new InvalidOptions({
      key,
      message: `${key} = ${typeof value === "string" ? JSON.stringify(value) : String(value)} is invalid: ${rule}`
    })
  })

export const positiveInteger = (key: string, value: number): Effect.Effect<number, ComputeError> =>
  Number.isSafeInteger(value) && value > 0
    ? Effect.succeed(value)
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

/**
 * The default number of workers: half the cores, clamped to 2..16 (leave the other half to the I/O side), and never
 * more than the machine has.
 */
export const defaultThreads = (cores: number = availableParallelism()): number =>
  Math.min(Math.max(Math.floor(cores / 2), 2), 16, Math.max(cores, 1))
