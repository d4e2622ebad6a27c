/**
 * The pools driven by plain async loops, none of them loading Effect: Piscina, tinypool, a raw `worker_threads` pool and
 * the same work inline.
 */
import { Worker } from "node:worker_threads"
import { Piscina } from "piscina"
import { Tinypool } from "tinypool"
import { perArray, perFreshArray, promisePool, roundRobin, workerUrl } from "./drive.ts"
import type { BenchPool, Task } from "./pools.ts"
import { fib, spin, sumRange } from "./workload.ts"

/** Piscina and tinypool, whose `run` takes a task and, optionally, a transfer list. */
interface RunsTasks {
  readonly run: (task: Task, options?: { readonly transferList?: Array<ArrayBuffer> }) => Promise<number>
  readonly destroy: () => Promise<void>
}

const taskPool = (pool: RunsTasks): BenchPool => ({
  ...promisePool((op, n) => pool.run({ op, n } satisfies Task), () => pool.destroy()),
  copy: (arrays, count) => perArray((array) => pool.run({ op: 2, array } satisfies Task), arrays, count),
  moved: (count, inFlight) =>
    perFreshArray(
      (array) => pool.run({ op: 2, array } satisfies Task, { transferList: [array.buffer] }),
      count,
      inFlight
    )
})

export const piscina = async (threads: number): Promise<BenchPool> => {
  const pool = new Piscina({ filename: workerUrl("piscina").href, minThreads: threads, maxThreads: threads })
  // Piscina starts workers lazily: run one task per thread so startup is not timed.
  await Promise.all(Array.from({ length: threads * 2 }, () => pool.run({ op: 0, n: 0 })))
  return taskPool(pool)
}

export const tinypool = async (threads: number): Promise<BenchPool> => {
  const pool = new Tinypool({ filename: workerUrl("tinypool").href, minThreads: threads, maxThreads: threads })
  // Like Piscina: one task per thread first, so worker startup is not timed.
  await Promise.all(Array.from({ length: threads * 2 }, () => pool.run({ op: 0, n: 0 })))
  return taskPool(pool)
}

/** A minimal worker_threads pool: round-robin dispatch, one message per task, results matched by id. */
export const raw = async (threads: number): Promise<BenchPool> => {
  const workers = Array.from({ length: threads }, () => new Worker(workerUrl("raw")))
  const dispatch = roundRobin(threads, (index, message, transfer) => workers[index]!.postMessage(message, transfer))
  for (const worker of workers) worker.on("message", ([id, value]: [number, number]) => dispatch.settle(id, value))
  await Promise.all(workers.map((worker) => new Promise((resolve) => worker.once("online", resolve))))
  await dispatch.warmUp()
  return {
    ...promisePool(dispatch.call, async () => {
      await Promise.all(workers.map((worker) => worker.terminate()))
    }),
    copy: (arrays, count) => perArray(dispatch.copy, arrays, count),
    moved: (count, inFlight) => perFreshArray(dispatch.move, count, inFlight)
  }
}

/** The same work on the calling thread, as a baseline for CPU-bound benchmarks. */
export const inline = async (): Promise<BenchPool> => ({
  ...promisePool(async (op, n) => (op === 0 ? n : spin(n)), async () => {}),
  map: async (count, iterations) => {
    const results: Array<number> = []
    for (let i = 0; i < count; i++) results.push(spin(iterations))
  },
  sum: async (array) => {
    let sum = 0
    for (let i = 0; i < array.length; i++) sum += array[i]!
    return sum
  },
  fib: async (n) => fib(n),
  forkSum: async (items, _grain, iterations) => sumRange(0, items, iterations),
  nestedMap: async (count, iterations) => {
    let sum = 0
    for (let i = 0; i < count; i++) sum += spin(iterations)
    return sum
  },
  interleaved: async (count, iterations) => {
    for (let i = 0; i < count; i++) {
      spin(iterations)
      await new Promise((resolve) => setImmediate(resolve))
    }
  }
})
