import { assert, describe, it } from "@effect/vitest"
import { Effect, Metric } from "effect"
import { ComputePlacement, ComputePool } from "effect-compute"
import { BusyFor, Where } from "./fixtures/tasks.ts"

const entry = new URL("./fixtures/worker.ts", import.meta.url)
const Pool = ComputePool.layer({ entry, threads: 1 })

const misclassified = (placement: string) =>
  Effect.map(Metric.snapshot, (snapshot) => {
    let total = 0
    for (const entry of snapshot) {
      const attributes = (entry.attributes ?? {}) as Record<string, unknown>
      if (entry.id === "compute_misclassified_tasks_total" && attributes["class"] === placement) {
        total += Number((entry.state as { count: number }).count)
      }
    }
    return total
  })

describe("placement", () => {
  it.live("small runs on the calling thread; medium and large on the pool", () =>
    Effect.gen(function*() {
      assert.strictEqual(yield* ComputePlacement.small(Where, undefined), -1)
      assert.isAtLeast(yield* ComputePlacement.medium(Where, undefined), 0)
      assert.isAtLeast(yield* ComputePlacement.large(Where, undefined), 0)
      assert.strictEqual((yield* ComputePool.stats).submitted, 2)
    }).pipe(Effect.provide(Pool)))

  it.live("validation counts a small task that held the thread and a large one cheaper than 1 ms", () =>
    Effect.gen(function*() {
      // BusyFor(5) holds the calling thread at least 4 ms: far over the 100 µs of "small".
      yield* ComputePlacement.small(BusyFor, 5)
      assert.strictEqual(yield* misclassified("small"), 1)
      // A large task that takes 5 ms is rightly large...
      yield* ComputePlacement.large(BusyFor, 5)
      assert.strictEqual(yield* misclassified("large"), 0)
      // ...while twenty round trips of a no-op cannot all take a millisecond.
      for (let i = 0; i < 20; i++) yield* ComputePlacement.large(Where, undefined)
      assert.isAtLeast(yield* misclassified("large"), 1)
    }).pipe(Effect.provideService(ComputePlacement.ValidatePlacement, true), Effect.provide(Pool)))

  it.live("without validation nothing is measured or counted", () =>
    Effect.gen(function*() {
      const before = yield* misclassified("small")
      yield* ComputePlacement.small(BusyFor, 2)
      assert.strictEqual(yield* misclassified("small"), before)
    }).pipe(Effect.provide(Pool)))

  it.live("adaptive learns: a slow task stays on the pool; a cheap one is tried inline once its trip is short", () =>
    Effect.gen(function*() {
      for (let i = 0; i < 10; i++) assert.strictEqual(yield* ComputePlacement.adaptive(BusyFor, 3), "done")
      const slow = yield* ComputePlacement.adaptiveState(BusyFor)
      assert.strictEqual(slow.calls, 10)
      assert.isUndefined(slow.inlineUs, "never tried inline: its round trip is milliseconds")
      assert.isAtLeast(slow.poolUs!, 2_000)

      // The rule, checked call by call: once the pool trip averages under 200 µs (and inline was never measured),
      // the next call is tried inline. (Checked before each call: the last one may bring the average under 200 µs
      // with no call left to act on it.)
      let triedInline = 0
      for (let i = 0; i < 30; i++) {
        const before = yield* ComputePlacement.adaptiveState(Where)
        const place = yield* ComputePlacement.adaptive(Where, undefined)
        if (before.inlineUs === undefined && before.poolUs !== undefined && before.poolUs < 200) {
          assert.strictEqual(place, -1, `call ${i + 1}: pool trip ${before.poolUs} µs, so inline`)
        }
        if (place === -1) triedInline++
      }
      const cheap = yield* ComputePlacement.adaptiveState(Where)
      assert.isDefined(cheap.poolUs)
      assert.strictEqual(cheap.calls, 30)
      assert.strictEqual(cheap.inlineUs !== undefined, triedInline > 0)
    }).pipe(Effect.provide(Pool)))

  it.live("each pool learns on its own: what one pool measured does not carry over to another", () =>
    Effect.gen(function*() {
      for (let i = 0; i < 5; i++) yield* ComputePlacement.adaptive(BusyFor, 1).pipe(Effect.provide(Pool))
      const other = yield* ComputePlacement.adaptiveState(BusyFor).pipe(
        Effect.provide(ComputePool.layerInline({ tasks: [BusyFor] }))
      )
      assert.deepStrictEqual(other, { calls: 0, inlineUs: undefined, poolUs: undefined })
    }))
})
