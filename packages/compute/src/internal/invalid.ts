/**
 * Bad options and configuration values: one message format everywhere — the key, the value and the rule.
 */
import * as Effect from "effect/Effect"
import { ComputeError, InvalidOptions } from "../ComputeError.ts"

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
