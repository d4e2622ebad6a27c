import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { ComputePool } from "effect-compute"
import * as Timeline from "../src/internal/shared/timeline.ts"
import { Fork } from "./fixtures/tasks.ts"
import { poll } from "./helpers.ts"

const entry = new URL("./fixtures/worker.ts", import.meta.url)
const leaf = (ms: number) => ({ ms, untilInterrupted: false, stubborn: false, crash: false })
const Pool = ComputePool.layer({ entry, threads: 2 })

/** Runs `effect` with a pool started while the timeline collects; the collector is closed afterwards. */
const collecting = <A, E>(
  effect: (collector: Timeline.Collector) => Effect.Effect<A, E, ComputePool.ComputePool>
) =>
  Effect.acquireUseRelease(
    Effect.sync(Timeline.collect),
    (collector) => effect(collector).pipe(Effect.provide(Pool)),
    (collector) => Effect.sync(collector.close)
  )

const inside = (inner: Timeline.Span, outer: Timeline.Span) =>
  inner.lane === outer.lane && outer.start <= inner.start && inner.end <= outer.end

describe("the timeline", () => {
  it.live("records each worker's spans of a fork-join: the task, its subtasks, a steal, the stolen run, idling", () =>
    collecting((collector) =>
      Effect.gen(function*() {
        // Eight 20 ms leaves from one task: its worker runs them while the idle one steals (Stealing.test.ts).
        const where = yield* ComputePool.execute(Fork, Array.from({ length: 8 }, () => leaf(20)))
        // A span is written when it ends: the thief's look, around its last stolen run, ends a moment after its answer.
        yield* poll(Effect.sync(() => {
          const all = collector.spans()
          return all.filter((span) => span.kind === Timeline.Kind.Steal).every((steal) =>
            all.some((look) => look.kind === Timeline.Kind.Look && inside(steal, look))
          )
        }))
        const spans = collector.spans()
        const of = (kind: Timeline.Kind) => spans.filter((span) => span.kind === kind)
        const lanes = [...new Set(spans.map((span) => span.lane))]
        assert.strictEqual(lanes.length, 2, "a lane per worker")
        for (const span of spans) assert.isAtMost(span.start, span.end)
        // Runs carry the event loop's idle time at their ends (what tells a gap between spans apart).
        for (const run of [...of(Timeline.Kind.Task), ...of(Timeline.Kind.Subtask), ...of(Timeline.Kind.Stolen)]) {
          assert.isTrue(Number.isFinite(run.idleStart) && run.idleStart <= run.idleEnd)
        }

        const [task, ...more] = of(Timeline.Kind.Task)
        assert.isDefined(task)
        assert.strictEqual(more.length, 0, "one task from the main thread")
        const owner = task!.lane
        const thief = lanes.find((lane) => lane !== owner)!
        assert.isAtLeast(of(Timeline.Kind.Subtask).filter((span) => span.lane === owner).length, 1)
        assert.isTrue(where.includes(thief), `the leaves ran on workers ${where.join(", ")}`)

        // Every steal took a subtask the owner published (after it was queued), ran inside the thief's look for
        // work, and was followed by the stolen run; the owner read each answer and waited for it meanwhile.
        const steals = of(Timeline.Kind.Steal)
        assert.isAtLeast(steals.length, 1)
        for (const steal of steals) {
          assert.strictEqual(steal.lane, thief)
          assert.strictEqual(steal.a, owner)
          const publish = of(Timeline.Kind.Publish).find((span) => span.lane === owner && span.b === steal.b)
          assert.isDefined(publish, `token ${steal.b} was published`)
          assert.isAtMost(publish!.start, publish!.end)
          assert.isAtMost(publish!.end, steal.start)
          assert.isTrue(of(Timeline.Kind.Look).some((look) => inside(steal, look)), "a steal is part of a look")
          const run = of(Timeline.Kind.Stolen).find((span) => span.lane === thief && span.b === steal.b)
          assert.isDefined(run, `token ${steal.b} ran on the thief`)
          assert.isAtMost(steal.end, run!.start)
          assert.strictEqual(run!.a, owner)
          const answered = of(Timeline.Kind.Answered).find((span) => span.lane === owner && span.b === steal.b)
          assert.isDefined(answered)
          assert.isAtLeast(answered!.start, run!.start)
          const waiting = of(Timeline.Kind.Waiting).find((span) => span.lane === owner && span.b === steal.b)
          assert.isDefined(waiting, "the owner waited on its stolen child")
          assert.strictEqual(waiting!.start, steal.start)
          assert.strictEqual(waiting!.end, answered!.end)
        }
        // Idle workers sleep (the thief before it was woken, both once the tree was done).
        assert.isAtLeast(of(Timeline.Kind.Asleep).length, 1)

        const times = Timeline.stealTimes(spans)
        assert.strictEqual(times.cost.length, steals.length)
        assert.strictEqual(times.queuedToStarted.length, of(Timeline.Kind.Stolen).length)

        // The driver's own spans go in the main thread's lane.
        const start = collector.now()
        collector.record(Timeline.Kind.Call, start, collector.now(), 7)
        const call = collector.spans().filter((span) => span.lane === -1)
        assert.deepStrictEqual(call.map((span) => [span.kind, span.a]), [[Timeline.Kind.Call, 7]])
      })
    ))

  it.live("records nothing in workers started while it is off", () =>
    Effect.gen(function*() {
      // The pool starts before anyone collects: its workers never switch the recorder on, nor hand over a ring.
      const pool = yield* ComputePool.ComputePool
      const collector = Timeline.collect()
      yield* Effect.ensuring(
        Effect.gen(function*() {
          yield* pool.execute(Fork, Array.from({ length: 4 }, () => leaf(5)))
          // A ring handed over would have arrived by now (the channel's message precedes the worker's Ready).
          yield* Effect.sleep("50 millis")
          assert.deepStrictEqual(collector.spans(), [])
        }),
        Effect.sync(collector.close)
      )
    }).pipe(Effect.provide(Pool)))
})
