/**
 * The benchmarks: what each measures, its size (full and quick), and which pools run it.
 */
import type { BenchPool, PoolName } from "./pools.ts"

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
}

const timed = async (f: () => Promise<void>): Promise<number> => {
  const start = process.hrtime.bigint()
  await f()
  return Number(process.hrtime.bigint() - start) / 1e6
}

const count = (sizes: Sizes, full: number, quick: number, scale: number) =>
  Math.max(1, Math.round((sizes.quick ? quick : full) * scale))

const pooled: ReadonlyArray<PoolName> = ["effect-compute", "piscina", "raw"]
/** Effect's own worker platform: measured on the dispatch benchmarks, where its per-message fiber shows. */
const dispatch: ReadonlyArray<PoolName> = [...pooled, "effect-workers"]
const withInline: ReadonlyArray<PoolName> = [...pooled, "inline"]

export const benchmarks: ReadonlyArray<Benchmark> = [
  {
    name: "roundtrip",
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
  }
]
