import { assert, describe, it } from "@effect/vitest"
import { Kind, type Span } from "../packages/compute/src/internal/shared/timeline.ts"
import { layout, renderTimeline, summarize } from "./timelineSvg.ts"

// The event loop is idle only for worker 0 between its task and its subtask (it waited for a message).
const idle = (lane: number, t: number) => (lane === 0 && t >= 2 ? 0.4 : 0)
const span = (lane: number, kind: Kind, start: number, end: number, a = 0, b = 0): Span => ({
  lane,
  kind,
  start,
  end,
  a,
  b,
  idleStart: idle(lane, start),
  idleEnd: idle(lane, end)
})

// The main thread's call; worker 0 runs a task and its subtasks, and waits on one that worker 1 stole; worker 1
// sleeps, looks, steals it and runs it inside its look, is active outside any span a moment, then sleeps again.
const spans: ReadonlyArray<Span> = [
  span(-1, Kind.Call, 0, 10),
  span(0, Kind.Task, 1, 1.5, 1),
  span(0, Kind.Subtask, 2, 6, 1),
  span(0, Kind.Publish, 1.5, 1.8, 0, 5),
  span(0, Kind.Answered, 7, 7, 1, 5),
  span(0, Kind.Waiting, 3, 7, 1, 5),
  span(1, Kind.Asleep, 0, 2.9),
  span(1, Kind.Look, 2.9, 6.5),
  span(1, Kind.Steal, 3, 3.01, 0, 5),
  span(1, Kind.Stolen, 3.01, 6, 0, 5),
  span(1, Kind.Asleep, 6.8, 10)
]

describe("the timeline's SVG", () => {
  it("draws one lane per thread, the main thread first, with a legend and a time axis", () => {
    const svg = renderTimeline(spans, { title: "a test", from: 0, to: 10 })
    assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/)
    const lanes = [...svg.matchAll(/<g class="lane" data-lane="(-?\d+)">/g)].map((match) => Number(match[1]))
    assert.deepStrictEqual(lanes, [-1, 0, 1])
    for (const name of ["main thread", "worker 0", "worker 1", "running a stolen subtask", "waiting on children"]) {
      assert.include(svg, name)
    }
    assert.include(svg, ">ms</text>")
    assert.strictEqual(svg.match(/<svg/g)!.length, 1)
    assert.include(svg.trimEnd().slice(-6), "</svg>")
  })

  it("nests a thread's spans as its stack did, and sums each lane's own time by kind", () => {
    const depths = layout(spans.filter((s) => s.lane === 1)).drawn.map(({ depth, span }) => [span.kind, depth])
    assert.deepStrictEqual(depths, [[Kind.Asleep, 0], [Kind.Look, 0], [Kind.Steal, 1], [Kind.Stolen, 1], [
      Kind.Asleep,
      0
    ]])
    const [main, worker0, worker1] = summarize(spans, 0, 10)
    assert.strictEqual(main!.own.get(Kind.Call), 10)
    assert.strictEqual(worker0!.waiting, 4)
    assert.strictEqual(worker0!.outside, 5.5)
    assert.deepStrictEqual([worker0!.loopWaiting, worker0!.active], [0.5, 0], "the gap between task and subtask")
    // The look's own time leaves out the steal and the stolen run inside it.
    assert.closeTo(worker1!.own.get(Kind.Look)!, 3.6 - 3, 1e-9)
    assert.closeTo(worker1!.own.get(Kind.Asleep)!, 2.9 + 3.2, 1e-9)
    assert.closeTo(worker1!.outside, 0.3, 1e-9)
    assert.closeTo(worker1!.active, 0.3, 1e-9)
    assert.strictEqual(worker1!.loopWaiting, 0)
  })
})
