/**
 * The benchmarks: what each measures, its size (full and quick), and which pools run it.
 */
import { monitorEventLoopDelay, performance } from "node:perf_hooks"
import { movedLength } from "./drive.ts"
import type { BenchPool, PoolName } from "./pools.ts"
import { stealRow } from "./steal.ts"
import { ends, fib, spin, sumRange } from "./workload.ts"

export interface Sizes {
  /** spin iterations per microsecond on this machine, measured once per run */
  readonly iterationsPerUs: number
  readonly quick: boolean
}

export interface Benchmark {
  readonly name: string
  readonly title: string
  readonly unit: string
  readonly higherIsBetter: boolean
  readonly pools: ReadonlyArray<PoolName>
  /** Runs once at `scale` (1 for a measured repetition, less for the warm-up) and returns the metric. */
  readonly run: (pool: BenchPool, sizes: Sizes, scale: number) => Promise<number>
  /**
   * Full-size warm-up runs before the measured ones (default 1). Trees of subtasks need more: each worker's JIT
   * settles on them only after many (one process's runs of fib(32)/24: 21–24 ms for the 6th to 12th, 13–15 ms from
   * about the 20th on; `node bench/case.ts effect-compute fork-join 40 <rate>` prints them), so {@link treeWarmups}.
   */
  readonly warmups?: number
  /** Also run by bench/rayon (the `rayon` and `rayon-seq` columns), which mirrors this row's sizes. */
  readonly rayon?: boolean
}

/** Warm-ups of the subtask and tree rows: past the JIT's settling (see {@link Benchmark.warmups}). */
const treeWarmups = 25

const timed = async (f: () => Promise<void>): Promise<number> => {
  const start = process.hrtime.bigint()
  await f()
  return Number(process.hrtime.bigint() - start) / 1e6
}

/** The main thread's own CPU time (user + system), in ms: `process.threadCpuUsage`, Node 23.9 and later. */
const mainThreadCpu = (): number => {
  const usage = (process as { threadCpuUsage?: () => NodeJS.CpuUsage }).threadCpuUsage?.()
  if (usage === undefined) throw new Error(`main-cpu needs process.threadCpuUsage (Node 23.9+), not ${process.version}`)
  return (usage.user + usage.system) / 1_000
}

const count = (sizes: Sizes, full: number, quick: number, scale: number) =>
  Math.max(1, Math.round((sizes.quick ? quick : full) * scale))

const pooled: ReadonlyArray<PoolName> = ["effect-compute", "piscina", "tinypool", "effect-rpc", "raw"]
/**
 * The dispatch benchmarks also run Effect's own worker platform (where its per-message fiber shows) and effect-compute
 * with a tracer installed, with its metrics off, with no idle spin (workers sleep as soon as they run dry), and with
 * 64 tasks in flight per worker instead of 16: the cost or gain of each on the dispatch path.
 */
const variants: ReadonlyArray<PoolName> = ["ec-no-spin", "ec-64-in-flight"]
const dispatch: ReadonlyArray<PoolName> = [...pooled, "effect-workers", "ec-traced", "ec-no-metrics", ...variants]
/**
 * A row of what each no-op task costs the main thread, 1,000 in flight, by a clock of the main thread's own time (ms):
 * every pool that runs tasks for the main thread, and the variants that change its share.
 */
const mainThreadRow = (name: string, what: string, clockMs: () => number): Benchmark => ({
  name,
  title: `main-thread ${what} time per no-op task, 1,000 in flight`,
  unit: "µs/task",
  higherIsBetter: false,
  pools: [...pooled, ...variants],
  run: async (pool, sizes, scale) => {
    const n = count(sizes, 100_000, 5_000, scale)
    const before = clockMs()
    await pool.windowed(n, 1_000, 0, 1)
    return ((clockMs() - before) * 1_000) / n
  }
})

const withInline: ReadonlyArray<PoolName> = [...pooled, "inline"]
const eventLoop: ReadonlyArray<PoolName> = ["effect-compute", "piscina", "tinypool", "effect-rpc", "raw", "inline"]
/** The cluster rows: effect-compute's local pool against its cluster client over 1, 2 and 3 runner processes. */
const clusters: ReadonlyArray<PoolName> = ["effect-compute", "cluster-1", "cluster-2", "cluster-3"]

/** CPU time of this process (the caller's side: main thread and its own threads), in microseconds. */
const cpuMicros = () => {
  const usage = process.cpuUsage()
  return usage.user + usage.system
}

export const benchmarks: ReadonlyArray<Benchmark> = [
  {
    name: "roundtrip",
    rayon: true,
    title: "no-op round trip, sequential",
    unit: "µs/task",
    higherIsBetter: false,
    pools: dispatch,
    run: async (pool, sizes, scale) => {
      const n = count(sizes, 10_000, 500, scale)
      return ((await timed(() => pool.sequential(n))) * 1_000) / n
    }
  },
  {
    name: "tiny-window",
    title: "200k no-op tasks, 1,000 in flight",
    unit: "tasks/s",
    higherIsBetter: true,
    pools: dispatch,
    run: async (pool, sizes, scale) => {
      const n = count(sizes, 200_000, 5_000, scale)
      return n / ((await timed(() => pool.windowed(n, 1_000, 0, 1))) / 1_000)
    }
  },
  {
    name: "tiny-burst",
    title: "200k no-op tasks, all at once",
    unit: "tasks/s",
    higherIsBetter: true,
    pools: pooled,
    run: async (pool, sizes, scale) => {
      const n = count(sizes, 200_000, 5_000, scale)
      return n / ((await timed(() => pool.windowed(n, Infinity, 0, 1))) / 1_000)
    }
  },
  {
    name: "small",
    title: "50k tasks of ~20 µs CPU",
    unit: "tasks/s",
    higherIsBetter: true,
    pools: withInline,
    run: async (pool, sizes, scale) => {
      const n = count(sizes, 50_000, 2_000, scale)
      const iterations = Math.round(sizes.iterationsPerUs * 20)
      return n / ((await timed(() => pool.windowed(n, 1_000, 1, iterations))) / 1_000)
    }
  },
  {
    name: "large",
    title: "2,000 tasks of ~1 ms CPU, wall time",
    unit: "ms",
    higherIsBetter: false,
    pools: withInline,
    run: async (pool, sizes, scale) => {
      const n = count(sizes, 2_000, 100, scale)
      const iterations = Math.round(sizes.iterationsPerUs * 1_000)
      return timed(() => pool.windowed(n, 1_000, 1, iterations))
    }
  },
  {
    name: "map",
    rayon: true,
    title: "map over 1M items of ~2 µs",
    unit: "items/s",
    higherIsBetter: true,
    // Not effect-rpc: one RPC per item (it has no batched map) runs ~10k items/s on 2 cores, minutes per repetition;
    // its per-call cost is already what the dispatch rows measure.
    pools: ["effect-compute", "piscina", "tinypool", "inline"],
    run: async (pool, sizes, scale) => {
      const n = count(sizes, 1_000_000, 20_000, scale)
      const iterations = Math.round(sizes.iterationsPerUs * 2)
      return n / ((await timed(() => pool.map(n, iterations))) / 1_000)
    }
  },
  {
    name: "eld-p50",
    title: "event-loop delay p50 (main thread), 400 tasks of ~10 ms",
    unit: "ms",
    higherIsBetter: false,
    pools: eventLoop,
    run: async (pool, sizes, scale) => (await eventLoopDelay(pool, sizes, scale)).p50
  },
  {
    name: "eld-p99",
    title: "event-loop delay p99 (main thread), 400 tasks of ~10 ms",
    unit: "ms",
    higherIsBetter: false,
    pools: eventLoop,
    run: async (pool, sizes, scale) => (await eventLoopDelay(pool, sizes, scale)).p99
  },
  {
    name: "sum-shared",
    title: "sum of a 10M Float64Array, shared memory",
    unit: "ms",
    higherIsBetter: false,
    pools: ["effect-compute", "inline"],
    run: (pool, sizes, scale) => sumOf(pool, sizes, scale, true)
  },
  {
    name: "sum-clone",
    title: "sum of a 10M Float64Array, copied parts",
    unit: "ms",
    higherIsBetter: false,
    pools: ["effect-compute", "inline"],
    run: (pool, sizes, scale) => sumOf(pool, sizes, scale, false)
  },
  {
    name: "payload-copy",
    // 4 in flight on 2 threads, as 4 distinct arrays: each worker has its next array posted while it reads the current
    // one (2 and 8 in flight ranked the pools the same). No array is in two calls at once: the same array twice in one
    // message (effect-compute batches) is cloned once, and effect-compute measured 2× what it copied.
    title: "payload copy: 1 MiB Float64Array per task",
    unit: "MB/s",
    higherIsBetter: true,
    pools: pooled,
    run: async (pool, sizes, scale) => {
      const n = count(sizes, 2_000, 100, scale)
      const arrays = payloadArrays()
      return payloadRate("payload-copy", n, arrays[0]!.byteLength, n * ends(arrays[0]!), () => pool.copy!(arrays, n))
    }
  },
  {
    name: "payload-move",
    // A fresh array per call (a caller that moves a buffer gives it up), 16 in flight; the same allocation for every
    // pool, so the row compares what moving a buffer to a worker and back costs.
    title: "payload moved (transfer): a fresh 1 MiB Float64Array per task, 16 in flight",
    unit: "MB/s",
    higherIsBetter: true,
    pools: ["effect-compute", "piscina", "tinypool", "raw"],
    run: async (pool, sizes, scale) => {
      const n = count(sizes, 4_000, 200, scale)
      return payloadRate("payload-move", n, movedLength * 8, n * (1 + movedLength), () => pool.moved!(n, 16))
    }
  },
  {
    name: "cluster-roundtrip",
    title: "no-op round trip, sequential: local pool vs through the cluster (1 runner)",
    unit: "µs/task",
    higherIsBetter: false,
    pools: ["effect-compute", "cluster-1"],
    run: async (pool, sizes, scale) => {
      const n = count(sizes, 2_000, 100, scale)
      return ((await timed(() => pool.sequential(n))) * 1_000) / n
    }
  },
  {
    name: "cluster-throughput",
    title: "2,000 tasks of ~1 ms CPU, 64 in flight: local pool vs cluster of 1, 2, 3 runners",
    unit: "tasks/s",
    higherIsBetter: true,
    pools: clusters,
    run: async (pool, sizes, scale) => {
      const n = count(sizes, 2_000, 100, scale)
      const iterations = Math.round(sizes.iterationsPerUs * 1_000)
      return n / ((await timed(() => pool.windowed(n, 64, 1, iterations))) / 1_000)
    }
  },
  {
    name: "cluster-caller-cpu",
    // The client process's CPU per call bounds how many calls one client can drive, whatever the runners. (Not run on
    // the local pool: its workers are threads of the calling process, so their CPU would be counted in.)
    title: "cluster client's CPU per no-op call, 64 in flight",
    unit: "µs/task",
    higherIsBetter: false,
    pools: ["cluster-1"],
    run: async (pool, sizes, scale) => {
      const n = count(sizes, 10_000, 500, scale)
      const before = cpuMicros()
      await pool.windowed(n, 64, 0, 1)
      return (cpuMicros() - before) / n
    }
  },
  // The ceiling on how far a pool scales with cores: every task costs the main thread this much of its own time.
  // Measured as the main thread's event-loop busy time (not process CPU, which counts the workers' threads too)...
  mainThreadRow("main-busy", "busy", () => performance.eventLoopUtilization().active),
  // ...and by its own CPU clock: busy time also counts the time the thread was runnable but not running (on 2 cores, a
  // worker that spins takes turns with it), which more cores would give back.
  mainThreadRow("main-cpu", "CPU", mainThreadCpu),
  {
    name: "subtask",
    rayon: true,
    title: "spawn + join of a no-op subtask from inside a worker",
    unit: "µs/subtask",
    higherIsBetter: false,
    pools: ["effect-compute"],
    warmups: treeWarmups,
    run: async (pool, sizes, scale) => {
      const n = count(sizes, 5_000, 500, scale)
      let result = 0
      const ms = await timed(async () => {
        result = await pool.subtasks!(n)
      })
      if (result !== n) throw new Error(`subtask: ${n} no-op subtasks summed to ${result}`)
      return (ms * 1_000) / n
    }
  },
  {
    name: "fork-join",
    rayon: true,
    title: "fork-join fib(32), forking down to fib(24)",
    unit: "ms",
    higherIsBetter: false,
    pools: ["effect-compute", "inline"],
    warmups: treeWarmups,
    run: async (pool, sizes) => {
      const n = sizes.quick ? 26 : 32
      let result = 0
      const ms = await timed(async () => {
        result = await pool.fib!(n, n - 8)
      })
      if (result !== expectedFib(n)) throw new Error(`fork-join fib(${n}) gave ${result}`)
      return ms
    }
  },
  {
    name: "fork-join-fine",
    rayon: true,
    // The fork-join shape with fine leaves: the range is halved, each half a subtask, down to 20 items of ~1 µs each,
    // so every leaf is ~20 µs of work and the subtasks are about as many as the leaves (twice as many, all told).
    title: "fork-join sum over 100k items of ~1 µs, split down to leaves of ~20 µs",
    unit: "ms",
    higherIsBetter: false,
    pools: ["effect-compute", "inline"],
    warmups: treeWarmups,
    run: async (pool, sizes, scale) => {
      const items = count(sizes, 100_000, 10_000, scale)
      const iterations = Math.max(1, Math.round(sizes.iterationsPerUs))
      const expected = expectedRange(items, iterations)
      let result = 0
      const ms = await timed(async () => {
        result = await pool.forkSum!(items, 20, iterations)
      })
      if (result !== expected) throw new Error(`fork-join-fine over ${items} items gave ${result}, not ${expected}`)
      return ms
    }
  },
  {
    name: "nested-map",
    rayon: true,
    // ComputeParallel.map called by a task's handler: the items are pieces in that worker's own queue, which idle
    // workers steal (split adaptively, as Rayon's parallel iterators split).
    title: "map over 100k items of ~2 µs from inside a worker",
    unit: "items/s",
    higherIsBetter: true,
    pools: ["effect-compute", "inline"],
    warmups: treeWarmups,
    run: async (pool, sizes, scale) => {
      const n = count(sizes, 100_000, 10_000, scale)
      const iterations = Math.round(sizes.iterationsPerUs * 2)
      let result = 0
      const ms = await timed(async () => {
        result = await pool.nestedMap!(n, iterations)
      })
      const expected = n * spin(iterations)
      if (result !== expected) throw new Error(`nested-map over ${n} items gave ${result}, not ${expected}`)
      return n / (ms / 1_000)
    }
  },
  {
    name: "steal",
    // Its own pool, with the timeline on (bench/steal.ts): queued→started and the steal's cost, p50/p99, on stderr.
    title: "a steal's own cost, p50 (fork-join fib(32)/24, timeline on)",
    unit: "µs/steal",
    higherIsBetter: false,
    pools: ["effect-compute"],
    warmups: 0,
    run: (_pool, sizes) => stealRow(sizes.quick)
  }
]

/**
 * MB/s of `calls`: `n` tasks of `bytes` each, whose results must sum to `expected` (each answers from its array's
 * ends, so a call that read nothing, or a zeroed copy, is caught).
 */
const payloadRate = async (row: string, n: number, bytes: number, expected: number, calls: () => Promise<number>) => {
  let result = 0
  const ms = await timed(async () => {
    result = await calls()
  })
  if (result !== expected) throw new Error(`${row}: ${n} tasks gave ${result}, not ${expected}`)
  return (n * bytes) / 1e6 / (ms / 1_000)
}

/** `f`, computed once per arguments in this process (the rows' right answers, outside the timed runs). */
const once = <Args extends ReadonlyArray<number>>(f: (...args: Args) => number) => {
  const results = new Map<string, number>()
  return (...args: Args): number => {
    const key = args.join(":")
    let result = results.get(key)
    if (result === undefined) {
      result = f(...args)
      results.set(key, result)
    }
    return result
  }
}

/**
 * fib(n) for the fork-join row: checked again after every run, its 20 ms on this thread would leave the workers asleep
 * that long before the next timed call, and on these VMs a thread asleep 20 ms takes ~0.7 ms to run again
 * (`npm run bench:wake`) — a cold start in every sample, where Rayon's runs follow each other.
 */
const expectedFib = once(fib)

/** The fine fork-join's right answer. */
const expectedRange = once((items: number, iterations: number) => sumRange(0, items, iterations))

/**
 * The main thread's event-loop delay while 10 ms tasks keep every worker busy (2 s on 2 threads), sampled every 1 ms by
 * `monitorEventLoopDelay`, which records each interval between samples: 1 ms is the floor, not zero. The inline pool
 * runs the same tasks on the main thread, yielding between them — the best an inline program can do — so its delay is
 * about one task. Tasks of 10 ms, not 1 ms, so that inline's delay stands clear of the 1 ms floor.
 */
const eventLoopDelay = async (pool: BenchPool, sizes: Sizes, scale: number) => {
  const n = count(sizes, 400, 40, scale)
  const iterations = Math.round(sizes.iterationsPerUs * 10_000)
  const histogram = monitorEventLoopDelay({ resolution: 1 })
  histogram.enable()
  await (pool.interleaved ? pool.interleaved(n, iterations) : pool.windowed(n, 1_000, 1, iterations))
  histogram.disable()
  return { p50: histogram.percentile(50) / 1e6, p99: histogram.percentile(99) / 1e6 }
}

/**
 * The payload-copy row's arrays, one per call in flight: 1 MiB (131,072 doubles) of ordinary memory each, filled once
 * and sent again and again, so the row times the copies, not the allocation. Their ends (1 and 131,072) make a task
 * that read a zeroed copy give a wrong answer.
 */
let payloads: ReadonlyArray<Float64Array<ArrayBuffer>> | undefined
const payloadArrays = () =>
  payloads ??= Array.from({ length: 4 }, () => Float64Array.from({ length: 131_072 }, (_, i) => i + 1))

/** One array per process, filled once: the benchmark times the sum, not the allocation. */
const arrays = new Map<string, Float64Array>()
const sumOf = async (pool: BenchPool, sizes: Sizes, scale: number, sharedMemory: boolean) => {
  const length = Math.round((sizes.quick ? 1_000_000 : 10_000_000) * scale)
  const key = `${sharedMemory}:${length}`
  let array = arrays.get(key)
  if (array === undefined) {
    // effect-compute's helper for the shared row, loaded there only: a case of a pool without Effect loads none of it.
    array = sharedMemory
      ? (await import("effect-compute")).ComputeParallel.shared(Float64Array, length)
      : new Float64Array(length)
    for (let i = 0; i < length; i++) array[i] = i % 1_000
    arrays.set(key, array)
  }
  const source = array
  let result = 0
  const ms = await timed(async () => {
    result = await pool.sum!(source, 16)
  })
  if (result !== expectedSum(length)) throw new Error(`sum gave ${result}, expected ${expectedSum(length)}`)
  return ms
}

const expectedSum = (length: number) => {
  const full = Math.floor(length / 1_000)
  const rest = length % 1_000
  return full * (999 * 1_000) / 2 + (rest * (rest - 1)) / 2
}
