/**
 * `npm run bench:wake`: how long a thread that has slept takes to run again on this machine — the floor under every
 * steal, every wake-up message and every cold start of the pool. A raw worker thread (no effect-compute) sleeps for a
 * gap, then the main thread wakes it, either with a message (the worker waits in its event loop, as a pool's worker
 * does) or with `Atomics.notify` (the worker waits in `Atomics.wait`); the worker stamps the moment it runs on the
 * clock both threads share. Medians and 90th percentiles over `--samples` wake-ups per gap.
 *
 *   npm run bench:wake                     gaps 0.2, 1, 5 and 20 ms, 30 samples each
 *   npm run bench:wake -- --quick          fewer samples (what the tests run)
 *   npm run bench:wake -- --json           the table as JSON
 */
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads"
import { quantile } from "./quantile.ts"

/** The clock of every thread: time origin plus `performance.now()`, in ms. */
const now = () => performance.timeOrigin + performance.now()

type Mode = "message" | "atomics"

interface WakeRow {
  readonly mode: Mode
  readonly gapMs: number
  readonly samples: number
  readonly p50Us: number
  readonly p90Us: number
}

const measure = async (mode: Mode, gaps: ReadonlyArray<number>, samples: number): Promise<Array<WakeRow>> => {
  const cells = new Int32Array(new SharedArrayBuffer(4))
  const worker = new Worker(new URL(import.meta.url), { workerData: { cells, mode } })
  const next = () => new Promise<number>((resolve) => worker.once("message", resolve))
  await next()
  const rows: Array<WakeRow> = []
  for (const gapMs of gaps) {
    const latencies: Array<number> = []
    for (let i = 0; i < samples; i++) {
      await new Promise((resolve) => setTimeout(resolve, gapMs))
      const answered = next()
      const sent = now()
      if (mode === "message") worker.postMessage(sent)
      else {
        Atomics.store(cells, 0, 1)
        Atomics.notify(cells, 0)
      }
      latencies.push(((await answered) - sent) * 1_000)
    }
    rows.push({ mode, gapMs, samples, p50Us: quantile(latencies, 0.5), p90Us: quantile(latencies, 0.9) })
  }
  await worker.terminate()
  return rows
}

if (isMainThread) {
  const args = process.argv.slice(2)
  const quick = args.includes("--quick")
  const gaps = [0.2, 1, 5, 20]
  const samples = quick ? 5 : 30
  const rows = [...await measure("message", gaps, samples), ...await measure("atomics", gaps, samples)]
  if (args.includes("--json")) console.log(JSON.stringify(rows))
  else {
    console.log("| woken by | asleep for | wake-up latency p50 | p90 |")
    console.log("|---|--:|--:|--:|")
    for (const row of rows) {
      const by = row.mode === "message" ? "a message (event loop)" : "Atomics.notify"
      console.log(`| ${by} | ${row.gapMs} ms | ${row.p50Us.toFixed(0)} µs | ${row.p90Us.toFixed(0)} µs |`)
    }
    console.log(`\n${samples} samples per line; a raw worker thread, no pool.`)
  }
} else {
  const { cells, mode } = workerData as { cells: Int32Array; mode: Mode }
  parentPort!.postMessage(0)
  if (mode === "message") parentPort!.on("message", () => parentPort!.postMessage(now()))
  else {
    for (;;) {
      Atomics.wait(cells, 0, 0)
      const woke = now()
      Atomics.store(cells, 0, 0)
      parentPort!.postMessage(woke)
    }
  }
}
