/**
 * `npm run footprint`: what one worker loads, beside a raw `worker_threads` worker running the same workload.
 *
 * - Its import closure: every module the entry loads in a worker, counted as files and lines, and of those,
 *   effect-compute's and `effect`'s. Noted by a module load hook registered in that worker before the import.
 * - Its heap once started: the entry is imported in another worker, garbage is collected there, and
 *   `v8.getHeapStatistics()` is read — the live heap every full garbage collection in that worker walks.
 *
 * `--entry FILE` measures another entry (default: the bench's effect-compute entry); `--json` prints JSON only.
 */
import { readFileSync } from "node:fs"
import { relative, resolve } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { Worker } from "node:worker_threads"

const root = resolve(import.meta.dirname, "..")
const args = process.argv.slice(2)
const option = (name: string): string | undefined => {
  const at = args.indexOf(`--${name}`)
  return at >= 0 ? args[at + 1] : undefined
}
const entries = {
  "effect-compute": resolve(root, option("entry") ?? "bench/workers/effect-compute.ts"),
  raw: resolve(root, "bench/workers/raw.ts")
}

interface Closure {
  readonly files: number
  readonly lines: number
  readonly library: { readonly files: number; readonly lines: number }
  readonly effect: { readonly files: number; readonly lines: number }
}

/** Runs `body` (CommonJS, with `entryUrl` defined) in a worker; resolves with what it posts. */
const inWorker = <A>(body: string, entry: string): Promise<A> =>
  new Promise((resolveWith, reject) => {
    const source = `const entryUrl = ${JSON.stringify(pathToFileURL(entry).href)}\n${body}`
    // The conditions npm scripts run with (.npmrc), so that effect-compute resolves as it does in the bench.
    const worker = new Worker(source, { eval: true, execArgv: process.execArgv })
    worker.once("message", (message: A) => {
      resolveWith(message)
      void worker.terminate()
    })
    worker.once("error", reject)
  })

/** Files and their lines. */
const count = (which: ReadonlyArray<string>) => ({
  files: which.length,
  lines: which.reduce((sum, file) => sum + readFileSync(file, "utf8").split("\n").length, 0)
})

/** The modules an entry loads in a worker, noted by a load hook registered before it is imported. */
const closureOf = async (entry: string): Promise<Closure> => {
  const urls = await inWorker<Array<string>>(
    `
    const { parentPort } = require("node:worker_threads")
    const seen = new Set()
    require("node:module").registerHooks({
      load(url, context, next) {
        if (url.startsWith("file:")) seen.add(url)
        return next(url, context)
      }
    })
    import(entryUrl).then(() => parentPort.postMessage([...seen]))
  `,
    entry
  )
  const files = urls.map((url) => fileURLToPath(url))
  const library = resolve(root, "packages/compute")
  const effect = resolve(root, "node_modules/effect")
  return {
    ...count(files),
    library: count(files.filter((file) => file.startsWith(library))),
    effect: count(files.filter((file) => file.startsWith(effect)))
  }
}

/** A worker's live heap once its entry is loaded, after a full garbage collection there (MB). */
const heapOf = async (entry: string): Promise<number> => {
  const bytes = await inWorker<number>(
    `
    const { parentPort } = require("node:worker_threads")
    require("node:v8").setFlagsFromString("--expose-gc")
    const collect = require("node:vm").runInNewContext("gc")
    import(entryUrl).then(() => setTimeout(() => {
      collect()
      parentPort.postMessage(require("node:v8").getHeapStatistics().used_heap_size)
    }, 200))
  `,
    entry
  )
  return Math.round(bytes / 1024 / 1024 * 10) / 10
}

const report: Record<string, Closure & { readonly entry: string; readonly heapMb: number }> = {}
for (const [name, entry] of Object.entries(entries)) {
  report[name] = { entry: relative(root, entry), ...(await closureOf(entry)), heapMb: await heapOf(entry) }
}
if (args.includes("--json")) console.log(JSON.stringify(report, null, 2))
else {
  for (const [name, row] of Object.entries(report)) {
    console.log(
      `${
        name.padEnd(15)
      } ${row.entry}: ${row.files} modules (${row.lines} lines); effect-compute ${row.library.files} ` +
        `files (${row.library.lines} lines), effect ${row.effect.files} files (${row.effect.lines} lines); ` +
        `live heap ${row.heapMb} MB`
    )
  }
}
