/**
 * Runs tasks on the calling thread with the same contract as the worker pool: payloads and results go through their
 * schemas and a structured clone, failures are decoded, thrown errors become `TaskDefect`s.
 */
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import { ComputeError, TaskNotServed } from "../../ComputeError.ts"
import type * as ComputeTask from "../../ComputeTask.ts"
import * as Codec from "../wire/codec.ts"
import { noOutcomes, outcomeOfExit } from "../wire/outcome.ts"
import * as Protocol from "../wire/protocol.ts"
import { runHere } from "../worker/runHere.ts"

/** Encode, clone and decode: what a value goes through to cross a thread. */
const crossThread = (
  task: ComputeTask.Any,
  schema: ComputeTask.TaskSchema,
  value: unknown,
  direction: "payload" | "result",
  what: string
): Effect.Effect<unknown, ComputeError> => {
  const encoded = Codec.encode(schema, value)
  if (!encoded.ok) {
    return Effect.fail(
      Codec.encodingError(task, direction, `${what} of task "${task.name}" could not be encoded: ${encoded.error}`)
    )
  }
  let cloned: unknown
  try {
    cloned = structuredClone(encoded.value)
  } catch (cause) {
    return Effect.fail(
      Codec.encodingError(
        task,
        direction,
        `${what} of task "${task.name}" could not be sent across threads: ${Protocol.errorInfo(cause).message}`,
        cause
      )
    )
  }
  const decoded = Codec.decode(schema, cloned)
  return decoded.ok
    ? Effect.succeed(decoded.value)
    : Effect.fail(
      Codec.encodingError(task, direction, `${what} of task "${task.name}" could not be decoded: ${decoded.error}`)
    )
}

/** The inline pool's engine: runs a task here, and counts its outcomes. */
export type InlineRunner = ReturnType<typeof make>

export const make = (tasks: ReadonlyArray<ComputeTask.Any>, services: Context.Context<any>) => {
  const registry = new Set(tasks)
  const counts = { active: 0, outcomes: noOutcomes() }

  const runHandler = (task: ComputeTask.Any, payload: unknown): Effect.Effect<unknown, unknown> =>
    Effect.provideContext(runHere(task, payload), services)

  const execute = (task: ComputeTask.Any, payload: unknown): Effect.Effect<unknown, unknown> =>
    Effect.suspend(() => {
      counts.outcomes.submitted++
      if (!registry.has(task)) {
        // As on the worker pool: a task the entry does not serve was sent, and failed there.
        counts.outcomes.failure++
        return Effect.fail(
          new ComputeError({
            reason: new TaskNotServed({
              task: task.name,
              message: `task "${task.name}" is not among the tasks given to ComputePool.layerInline`
            })
          })
        )
      }
      counts.active++
      return crossThread(task, task.payload, payload, "payload", "the payload").pipe(
        Effect.tapError(() => Effect.sync(() => counts.outcomes.rejected++)),
        Effect.flatMap((decoded) =>
          runHandler(task, decoded).pipe(
            Effect.matchEffect({
              onSuccess: (value) => crossThread(task, task.success, value, "result", "the result"),
              onFailure: (error) =>
                Effect.flatMap(
                  crossThread(task, task.failure, error, "result", "the failure"),
                  (decodedError) => Effect.fail(decodedError)
                )
            }),
            Effect.onExit((exit) =>
              Effect.sync(() => {
                counts.outcomes[outcomeOfExit(exit)]++
              })
            )
          )
        ),
        Effect.ensuring(Effect.sync(() => counts.active--))
      )
    })

  return { execute, counts }
}
