/**
 * How a pool disabled by `threads: 0` learns what its worker entry serves: it imports the entry on the main thread
 * with this global key set, and `ComputeWorker.serve` hands its options over instead of starting a worker runtime.
 */
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import { pathToFileURL } from "node:url"
import { ComputeError, WorkerStartFailed } from "../../ComputeError.ts"
import type * as ComputeTask from "../../ComputeTask.ts"

export const serveCaptureKey = Symbol.for("effect-compute/serve-capture")

export interface ServedEntry {
  readonly tasks: ReadonlyArray<ComputeTask.Any>
  readonly layer: Layer.Layer<any, unknown, never> | undefined
}

/**
 * What each worker entry serves, by its URL, for pools disabled by `threads: 0`. An entry module is evaluated once per
 * process, so what its `serve` call handed over is kept here for every later pool built from it.
 */
const servedEntries = new Map<string, Promise<ServedEntry>>()

/** Imports a worker entry on this thread to learn what it serves, for a pool disabled by `threads: 0`. */
export const captureServe = (entry: string | URL): Effect.Effect<ServedEntry, ComputeError> => {
  const href = typeof entry === "string" && !entry.startsWith("file:") ? pathToFileURL(entry).href : String(entry)
  return Effect.tryPromise({
    try: () => {
      let served = servedEntries.get(href)
      if (served === undefined) {
        served = importServed(href)
        servedEntries.set(href, served)
        // A failed import is not kept: the file may be fixed and the Layer built again.
        served.catch(() => servedEntries.delete(href))
      }
      return served
    },
    catch: (cause) =>
      new ComputeError({
        reason: new WorkerStartFailed({
          workerId: -1,
          message: `the pool is disabled (threads: 0), and its worker entry could not run inline: ${
            cause instanceof Error ? cause.message : String(cause)
          }`,
          cause
        })
      })
  })
}

/** One entry import at a time: the capture slot is a single global. */
let importing: Promise<unknown> = Promise.resolve()

const importServed = (href: string): Promise<ServedEntry> => {
  const served = importing.then(() => importNow(href))
  importing = served.catch(() => {})
  return served
}

const importNow = async (href: string): Promise<ServedEntry> => {
  const capture: { served?: ServedEntry } = {}
  ;(globalThis as any)[serveCaptureKey] = capture
  try {
    // A path known only at run time: bundlers must leave it to Node (webpack would route it through a map of the
    // files it bundled, and find no entry there).
    await import(/* webpackIgnore: true */ /* @vite-ignore */ href)
  } finally {
    delete (globalThis as any)[serveCaptureKey]
  }
  if (capture.served === undefined) {
    throw new Error(`the worker entry ${href} did not call ComputeWorker.serve`)
  }
  return capture.served
}
