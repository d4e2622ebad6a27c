import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Tracer } from "effect"
import { ComputePool } from "effect-compute"
import { Add, TraceInfo } from "./fixtures/tasks.ts"

const entry = new URL("./fixtures/worker.ts", import.meta.url)

/** An in-memory tracer: Effect's own spans, kept in a list to look at. */
const recording = () => {
  const spans: Array<Tracer.Span> = []
  const tracer = Tracer.make({
    span(options) {
      const span = Tracer.nativeTracer.span(options)
      spans.push(span)
      return span
    }
  })
  return { spans, layer: Layer.succeed(Tracer.Tracer, tracer) }
}

describe("tracing", () => {
  it.live("a span per task, and the handler's spans in the worker join the caller's trace under it", () => {
    const { layer, spans } = recording()
    return Effect.gen(function*() {
      const seen = yield* ComputePool.execute(TraceInfo, undefined).pipe(Effect.withSpan("caller"))
      const execute = spans.find((span) => span.name === "compute.execute TraceInfo")
      assert.isDefined(execute)
      assert.strictEqual(seen.traceId, execute!.traceId)
      assert.strictEqual(seen.parentSpanId, execute!.spanId)
      const caller = spans.find((span) => span.name === "caller")!
      assert.strictEqual(execute!.traceId, caller.traceId)
      const attributes = (execute as unknown as { attributes: Map<string, unknown> }).attributes
      assert.strictEqual(attributes.get("compute.task"), "TraceInfo")
      assert.strictEqual(attributes.get("compute.outcome"), "Success")
      assert.isNumber(attributes.get("compute.worker_id"))
      assert.isNumber(attributes.get("compute.queue_wait_us"))
      assert.isNumber(attributes.get("compute.run_time_us"))
    }).pipe(Effect.provide(ComputePool.layer({ entry, threads: 1 }).pipe(Layer.provideMerge(layer))))
  })

  it.live("with Effect's built-in tracer no trace context reaches the worker", () =>
    Effect.gen(function*() {
      assert.strictEqual(yield* ComputePool.execute(Add, [1, 2]), 3)
      const seen = yield* ComputePool.execute(TraceInfo, undefined).pipe(Effect.withSpan("caller"))
      const caller = yield* Effect.withSpan(Effect.currentSpan, "probe").pipe(Effect.orDie)
      assert.notStrictEqual(seen.traceId, caller.traceId)
      assert.strictEqual(seen.parentSpanId, "none")
    }).pipe(Effect.provide(ComputePool.layer({ entry, threads: 1 }))))
})
