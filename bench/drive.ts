/**
 * How the bench drives a pool, whatever the pool: calls with a bounded number in flight, one runner per array, fresh
 * arrays moved to the worker, round-robin dispatch with results matched by id. No pool and no Effect here, so that a
 * case of a pool without Effect loads none of it.
 */
import type { Transferable } from "node:worker_threads"
import type { BenchPool, Op, RawMessage } from "./pools.ts"

/** A benchmark worker's entry, `bench/workers/<name>.ts`. */
export const workerUrl = (name: string) => new URL(`./workers/${name}.ts`, import.meta.url)

/** Drives a promise-returning call with a bounded number in flight. */
export const windowedPromises = async (
  call: (op: Op, n: number) => Promise<unknown>,
  count: number,
  window: number,
  op: Op,
  n: number
) => {
  if (window >= count) {
    const all: Array<Promise<unknown>> = []
    for (let i = 0; i < count; i++) all.push(call(op, n))
    await Promise.all(all)
    return
  }
  let started = 0
  const runner = async () => {
    while (started < count) {
      started++
      await call(op, n)
    }
  }
  await Promise.all(Array.from({ length: window }, runner))
}

/**
 * `count` calls of `call`, one runner per array, each sending its own array and waiting for the answer before it sends
 * again; the sum of their results. No array is in two calls at once: two in one message (effect-compute batches) would
 * be cloned once, the second sent as a reference to the first.
 */
export const perArray = async (
  call: (array: Float64Array<ArrayBuffer>) => Promise<number>,
  arrays: ReadonlyArray<Float64Array<ArrayBuffer>>,
  count: number
) => {
  let started = 0
  let sum = 0
  await Promise.all(arrays.map(async (array) => {
    while (started < count) {
      started++
      // Not `sum += await call(array)`: that reads `sum` before the await, and the runners would overwrite each other.
      const result = await call(array)
      sum += result
    }
  }))
  return sum
}

/** The moved-payload row's arrays: 1 MiB of doubles, made fresh for each call. */
export const movedLength = 131_072

/** A fresh array for one moved call: zeroed by the engine, its two ends set, so a call that read nothing is caught. */
const freshArray = (): Float64Array<ArrayBuffer> => {
  const array = new Float64Array(movedLength)
  array[0] = 1
  array[movedLength - 1] = movedLength
  return array
}

/** `count` calls of `call` on fresh arrays, `inFlight` at a time; the sum of their results. */
export const perFreshArray = async (
  call: (array: Float64Array<ArrayBuffer>) => Promise<number>,
  count: number,
  inFlight: number
) => {
  let started = 0
  let sum = 0
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (started < count) {
      started++
      const result = await call(freshArray())
      sum += result
    }
  }))
  return sum
}

/** A pool whose calls are promises: its sequential, windowed and map shapes, all made of `call`. */
export const promisePool = (call: (op: Op, n: number) => Promise<unknown>, close: () => Promise<void>): BenchPool => ({
  sequential: async (count) => {
    for (let i = 0; i < count; i++) await call(0, i)
  },
  windowed: (count, window, op, n) => windowedPromises(call, count, window, op, n),
  // One task per item: what these pools offer for a map.
  map: (count, iterations) => windowedPromises(call, count, 1_000, 1, iterations),
  close
})

/**
 * Round-robin dispatch with results matched by id, shared by the raw pool and the effect-workers pool: `send` posts
 * `[id, op, n]` (or `[id, 2, array]`) to worker `index`; whoever receives `[id, value]` passes it to `settle`.
 */
export const roundRobin = (
  threads: number,
  send: (index: number, message: RawMessage, transfer?: ReadonlyArray<Transferable>) => void
) => {
  const pending = new Map<number, (value: number) => void>()
  let nextId = 0
  let nextWorker = 0
  const post = (message: (id: number) => RawMessage, transfer?: ReadonlyArray<Transferable>) =>
    new Promise<number>((resolve) => {
      const id = nextId++
      pending.set(id, resolve)
      send(nextWorker, message(id), transfer)
      nextWorker = (nextWorker + 1) % threads
    })
  const call = (op: Op, n: number) => post((id) => [id, op, n])
  const copy = (array: Float64Array<ArrayBuffer>) => post((id) => [id, 2, array])
  const move = (array: Float64Array<ArrayBuffer>) => post((id) => [id, 2, array], [array.buffer])
  const settle = (id: number, value: number) => {
    const resolve = pending.get(id)!
    pending.delete(id)
    resolve(value)
  }
  // One call per worker and then some, so that startup is not timed.
  const warmUp = () => Promise.all(Array.from({ length: threads * 2 }, () => call(0, 0)))
  return { call, copy, move, settle, warmUp }
}
