/**
 * The reference's Pattern 2, "Stream Processing with Batch Compute": a `Stream` of log lines, grouped into batches;
 * each batch is summarised on the pool with at most 4 batches in flight (the reference's `for_each_concurrent(4)`),
 * and each summary is written out — an asynchronous append to an NDJSON file — as soon as it is ready, in the order
 * the batches finish. Back-pressure is the stream's: no more than 4 batches are ever read ahead of the writer.
 *
 * Run: `node packages/examples/src/patterns/stream-batches.ts [output.ndjson]`.
 */
import { NodeFileSystem } from "@effect/platform-node"
import { Console, Effect, FileSystem, Layer, Stream } from "effect"
import { ComputePool } from "effect-compute"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { logLine, SummarizeBatch } from "./tasks.ts"

const Pool = ComputePool.layer({ entry: new URL("./worker.ts", import.meta.url) })

export const lineCount = 200_000
export const batchSize = 5_000

/** Lines `0 .. count-1`, arriving as a stream (here generated; in a service, read from a socket or a file). */
const logLines = (count: number) => Stream.range(0, count - 1).pipe(Stream.map(logLine))

export const program = (output: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    yield* fs.writeFileString(output, "")
    const finished: Array<number> = []
    yield* logLines(lineCount).pipe(
      Stream.grouped(batchSize),
      Stream.zipWithIndex,
      Stream.mapEffect(
        ([batch, index]) =>
          Effect.map(ComputePool.execute(SummarizeBatch, batch), (summary) => ({ index, ...summary })),
        { concurrency: 4, unordered: true }
      ),
      Stream.runForEach((summary) =>
        Effect.andThen(
          fs.writeFileString(output, JSON.stringify(summary) + "\n", { flag: "a" }),
          Effect.sync(() => finished.push(summary.index))
        )
      )
    )
    const written = (yield* fs.readFileString(output)).trim().split("\n").map((line) =>
      JSON.parse(line) as { lines: number; serverErrors: number; totalMs: number; checksum: number }
    )
    const total = written.reduce(
      (sum, batch) => ({
        lines: sum.lines + batch.lines,
        serverErrors: sum.serverErrors + batch.serverErrors,
        totalMs: sum.totalMs + batch.totalMs,
        checksum: (sum.checksum + batch.checksum) % 2 ** 32
      }),
      { lines: 0, serverErrors: 0, totalMs: 0, checksum: 0 }
    )
    const inOrder = finished.every((index, i) => index === i)
    yield* Console.log(`wrote ${written.length} batch summaries to ${output}`)
    yield* Console.log(
      `lines ${total.lines}, server errors ${total.serverErrors}, total time ${total.totalMs} ms, checksum ${total.checksum}`
    )
    yield* Console.log(`written as they completed, not in input order: ${inOrder ? "no (same order)" : "yes"}`)
  }).pipe(Effect.provide(Layer.mergeAll(Pool, NodeFileSystem.layer)))

if (import.meta.main) {
  Effect.runPromise(program(process.argv[2] ?? join(tmpdir(), "effect-compute-batches.ndjson")))
}
