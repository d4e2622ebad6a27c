/**
 * Draws a timeline (`packages/compute/src/internal/shared/timeline.ts`) as a plain SVG, written by hand: one lane per
 * thread (the main thread first, then each worker), each span a colored box, nested spans drawn over the span they
 * run in (so a lane shows what its thread was doing at each instant), and under each worker lane a thin row for the
 * time one of its subtasks was away with a thief ("waiting on children"). A gap between a worker's spans is told apart
 * by its event loop's idle time across it: the loop waiting (for a message, not hungry), or the thread active outside
 * any span (runtime code, GC, or descheduled by the OS on a busy machine). Also sums each lane's time by what it did.
 */
import { Kind, type Span } from "../packages/compute/src/internal/shared/timeline.ts"

/** What each kind looks like and is called in the legend; kinds without a style are not drawn. */
const styles: Partial<Record<Kind, { readonly color: string; readonly label: string }>> = {
  [Kind.Call]: { color: "#17becf", label: "main thread: a call, submitted to answered" },
  [Kind.Task]: { color: "#1f77b4", label: "running a task" },
  [Kind.Subtask]: { color: "#2ca02c", label: "running a subtask (own queue)" },
  [Kind.Stolen]: { color: "#9467bd", label: "running a stolen subtask" },
  [Kind.Look]: { color: "#ffbb78", label: "idle: looking for work (spin)" },
  [Kind.Asleep]: { color: "#a0a0a0", label: "idle: asleep (hungry, until woken)" },
  [Kind.Steal]: { color: "#d62728", label: "stealing (a tick: µs)" },
  [Kind.Waiting]: { color: "#e377c2", label: "waiting on children (a lent subtask is away)" },
  [Kind.Gc]: { color: "#000000", label: "garbage collection (a bar above the lane)" }
}
const outsideColor = "#f4f4f4"
const outsideLabel = "outside the spans, not measured (the window's ends)"
const activeColor = "#c49c94"
const activeLabel = "active outside spans: runtime, GC, or descheduled by the OS"
const waitLabel = "event loop waiting, not asleep (not hungry)"
/** A gap counts as the event loop waiting when its idle time grew by at least this share of it. */
const idleShare = 0.5

/** The kinds a lane's main row draws, in nesting order (instants and Waiting are not nested). */
const nested = new Set<Kind>([Kind.Call, Kind.Task, Kind.Subtask, Kind.Stolen, Kind.Look, Kind.Asleep, Kind.Steal])

/** A lane's spans with their nesting depth, and the time each kind held the thread itself (its children's excluded). */
interface Layout {
  readonly drawn: Array<{ readonly span: Span; readonly depth: number }>
  readonly own: Map<Kind, number>
  /** the time covered by any top-level span */
  readonly covered: number
  /** the gaps between top-level spans: the event loop waiting, or the thread active (by the idle time at their ends) */
  readonly gaps: Array<{ readonly start: number; readonly end: number; readonly loopWaiting: boolean }>
}

/** Nesting by containment: a thread's spans follow its stack, so a span is inside whichever open span contains it. */
export const layout = (spans: ReadonlyArray<Span>): Layout => {
  const sorted = spans.filter((span) => nested.has(span.kind)).toSorted((x, y) => x.start - y.start || y.end - x.end)
  const drawn: Layout["drawn"] = []
  const own = new Map<Kind, number>()
  const stack: Array<{ span: Span; children: number }> = []
  const gaps: Layout["gaps"] = []
  let previous: Span | undefined
  let covered = 0
  const close = (entry: { span: Span; children: number }) => {
    const length = entry.span.end - entry.span.start
    own.set(entry.span.kind, (own.get(entry.span.kind) ?? 0) + Math.max(0, length - entry.children))
  }
  for (const span of sorted) {
    while (stack.length > 0 && stack[stack.length - 1]!.span.end <= span.start) close(stack.pop()!)
    const parent = stack[stack.length - 1]
    // Clipped to its parent: a record that overlaps instead of nesting (clock steps) must not count twice.
    const clipped = parent === undefined || span.end <= parent.span.end ? span : { ...span, end: parent.span.end }
    if (parent === undefined) {
      covered += clipped.end - clipped.start
      const idle = previous === undefined ? NaN : span.idleStart - previous.idleEnd
      if (previous !== undefined && span.start > previous.end && Number.isFinite(idle)) {
        gaps.push({
          start: previous.end,
          end: span.start,
          loopWaiting: idle >= idleShare * (span.start - previous.end)
        })
      }
      previous = clipped
    } else parent.children += clipped.end - clipped.start
    drawn.push({ span: clipped, depth: stack.length })
    stack.push({ span: clipped, children: 0 })
  }
  while (stack.length > 0) close(stack.pop()!)
  return { drawn, own, covered, gaps }
}

/**
 * Boxes of the same key less than `epsilon` apart drawn as one (with how many they are): a tree of thousands of 20 µs
 * leaves would otherwise write megabytes of boxes no one can tell apart. Same-key boxes of a lane never overlap.
 */
const merged = <A extends { readonly start: number; readonly end: number; readonly key: number }>(
  items: ReadonlyArray<A>,
  epsilon: number
): Array<{ start: number; end: number; key: number; count: number }> => {
  const open = new Map<number, { start: number; end: number; key: number; count: number }>()
  const out: Array<{ start: number; end: number; key: number; count: number }> = []
  for (const item of items.toSorted((a, b) => a.start - b.start)) {
    const box = open.get(item.key)
    if (box !== undefined && item.start - box.end < epsilon) {
      box.end = Math.max(box.end, item.end)
      box.count++
      continue
    }
    const next = { start: item.start, end: item.end, key: item.key, count: 1 }
    open.set(item.key, next)
    out.push(next)
  }
  return out
}

/** The union of intervals, as [start, end] pairs. */
const union = (spans: ReadonlyArray<Span>): Array<[number, number]> => {
  const merged: Array<[number, number]> = []
  for (const span of spans.toSorted((x, y) => x.start - y.start)) {
    const last = merged[merged.length - 1]
    if (last !== undefined && span.start <= last[1]) last[1] = Math.max(last[1], span.end)
    else merged.push([span.start, span.end])
  }
  return merged
}

export interface LaneSummary {
  readonly lane: number
  /** ms by what the thread itself was doing (nested spans take their time out of the span around them) */
  readonly own: ReadonlyMap<Kind, number>
  /** ms in no span: of which the event loop waiting, the thread active, and the rest not known (the window's ends) */
  readonly outside: number
  readonly loopWaiting: number
  readonly active: number
  /** ms with a lent subtask away */
  readonly waiting: number
  /** ms in garbage collection */
  readonly gc: number
}

/** Each lane's time by kind over [from, to]. */
export const summarize = (spans: ReadonlyArray<Span>, from: number, to: number): Array<LaneSummary> =>
  lanesOf(spans).map(([lane, laneSpans]) => {
    const { covered, gaps, own } = layout(laneSpans)
    const waiting = union(laneSpans.filter((span) => span.kind === Kind.Waiting))
    const gapTime = (loopWaiting: boolean) =>
      gaps.filter((gap) => gap.loopWaiting === loopWaiting).reduce((sum, gap) => sum + gap.end - gap.start, 0)
    return {
      lane,
      own,
      outside: Math.max(0, to - from - covered),
      loopWaiting: gapTime(true),
      active: gapTime(false),
      waiting: waiting.reduce((sum, [start, end]) => sum + end - start, 0),
      gc: union(laneSpans.filter((span) => span.kind === Kind.Gc)).reduce((sum, [start, end]) => sum + end - start, 0)
    }
  })

/** Spans by lane: the main thread (-1) first, then workers by id. */
const lanesOf = (spans: ReadonlyArray<Span>): Array<[number, Array<Span>]> => {
  const lanes = new Map<number, Array<Span>>()
  for (const span of spans) {
    let lane = lanes.get(span.lane)
    if (lane === undefined) lanes.set(span.lane, lane = [])
    lane.push(span)
  }
  return [...lanes.entries()].toSorted(([a], [b]) => a - b)
}

const laneName = (lane: number) => (lane < 0 ? "main thread" : `worker ${lane}`)

/** A step for about `count` ticks over `range` ms: 1, 2 or 5 times a power of ten. */
const tickStep = (range: number, count: number) => {
  const raw = range / count
  const power = 10 ** Math.floor(Math.log10(raw))
  return [1, 2, 5, 10].map((m) => m * power).find((step) => step >= raw)!
}

const escape = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
const fixed = (x: number) => x.toFixed(2)
const percent = (part: number, whole: number) => `${((part / whole) * 100).toFixed(0)}%`

export interface TimelineOptions {
  readonly title: string
  /** the window drawn, in the spans' clock (ms); spans are expected clipped to it */
  readonly from: number
  readonly to: number
  readonly width?: number
}

/** The SVG of a timeline: one lane per thread that has spans, a legend, a time axis in ms from `from`. */
export const renderTimeline = (spans: ReadonlyArray<Span>, options: TimelineOptions): string => {
  const { from, title, to } = options
  const width = options.width ?? 1_500
  const left = 90
  const right = 500
  const laneHeight = 26
  // Room above each lane for its GC bar.
  const waitHeight = 5
  const gap = 14
  const legendRows = Math.ceil((Object.keys(styles).length + 3) / 3)
  const top = 34 + legendRows * 18 + 8
  const lanes = lanesOf(spans)
  const summaries = new Map(summarize(spans, from, to).map((summary) => [summary.lane, summary]))
  const plot = width - left - right
  const x = (t: number) => left + ((t - from) / (to - from)) * plot
  const height = top + lanes.length * (laneHeight + waitHeight + gap) + 40
  const out: Array<string> = []
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
      `font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    // The event loop waiting: hatched, nothing ran.
    `<defs><pattern id="loop-waiting" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">` +
      `<rect width="6" height="6" fill="white"/><line x1="0" y1="0" x2="0" y2="6" stroke="#bbb" stroke-width="2"/>` +
      `</pattern></defs>`,
    `<text x="${left}" y="20" font-size="14" font-weight="bold">${escape(title)}</text>`
  )
  // The legend, three entries a row.
  const entries: Array<[string, string]> = [
    ...Object.values(styles).map((style): [string, string] => [style.color, style.label]),
    [activeColor, activeLabel],
    ["url(#loop-waiting)", waitLabel],
    [outsideColor, outsideLabel]
  ]
  entries.forEach(([color, label], i) => {
    const lx = left + (i % 3) * 450
    const ly = 34 + Math.floor(i / 3) * 18
    out.push(
      `<rect x="${lx}" y="${ly}" width="12" height="12" fill="${color}" stroke="#666" stroke-width="0.5"/>`,
      `<text x="${lx + 17}" y="${ly + 10}">${escape(label)}</text>`
    )
  })
  lanes.forEach(([lane, laneSpans], i) => {
    const y = top + i * (laneHeight + waitHeight + gap)
    out.push(
      `<g class="lane" data-lane="${lane}">`,
      `<text x="${left - 8}" y="${y + laneHeight / 2 + 4}" text-anchor="end">${laneName(lane)}</text>`,
      `<rect x="${left}" y="${y}" width="${plot}" height="${laneHeight}" fill="${outsideColor}"/>`
    )
    const { drawn, gaps } = layout(laneSpans)
    const pixel = (to - from) / plot
    for (const gap of merged(gaps.map((gap) => ({ ...gap, key: gap.loopWaiting ? 1 : 0 })), pixel)) {
      out.push(
        `<rect x="${fixed(x(gap.start))}" y="${y}" width="${fixed(Math.max(x(gap.end) - x(gap.start), 0.5))}" ` +
          `height="${laneHeight}" fill="${gap.key === 1 ? "url(#loop-waiting)" : activeColor}"/>`
      )
    }
    const boxes = merged(drawn.map(({ depth, span }) => ({ ...span, key: depth * 100 + span.kind })), pixel)
    // Outer spans first, so that what ran inside them is drawn over them.
    for (const box of boxes.toSorted((a, b) => a.key - b.key)) {
      const kind = (box.key % 100) as Kind
      const depth = Math.floor(box.key / 100)
      const style = styles[kind]!
      // A nested span is drawn a little inset, so that one like its parent still shows as separate.
      const inset = Math.min(depth, 3) * 2
      const w = Math.max(x(box.end) - x(box.start), kind === Kind.Steal ? 1 : 0.5)
      const tip = `${style.label}${box.count > 1 ? ` ×${box.count}` : ""}: ${fixed(box.start - from)}–${
        fixed(box.end - from)
      } ms`
      out.push(
        `<rect x="${fixed(x(box.start))}" y="${y + inset}" width="${fixed(w)}" height="${laneHeight - 2 * inset}" ` +
          `fill="${style.color}">${w >= 3 ? `<title>${escape(tip)}</title>` : ""}</rect>`
      )
    }
    for (const [start, end] of union(laneSpans.filter((span) => span.kind === Kind.Gc))) {
      out.push(
        `<rect x="${fixed(x(start))}" y="${y - 4}" width="${fixed(Math.max(x(end) - x(start), 0.5))}" height="3" ` +
          `fill="${styles[Kind.Gc]!.color}"/>`
      )
    }
    for (const [start, end] of union(laneSpans.filter((span) => span.kind === Kind.Waiting))) {
      out.push(
        `<rect x="${fixed(x(start))}" y="${y + laneHeight + 1}" width="${fixed(Math.max(x(end) - x(start), 0.5))}" ` +
          `height="${waitHeight}" fill="${styles[Kind.Waiting]!.color}"/>`
      )
    }
    out.push(
      `<text x="${left + plot + 10}" y="${y + laneHeight / 2 + 4}">${
        escape(summaryLine(summaries.get(lane)!, to - from))
      }</text>`
    )
    out.push(`</g>`)
  })
  // The time axis, in ms from the window's start.
  const axisY = top + lanes.length * (laneHeight + waitHeight + gap)
  const step = tickStep(to - from, 10)
  out.push(`<line x1="${left}" y1="${axisY}" x2="${left + plot}" y2="${axisY}" stroke="#333"/>`)
  for (let t = 0; t <= to - from + 1e-9; t += step) {
    out.push(
      `<line x1="${fixed(x(from + t))}" y1="${axisY}" x2="${fixed(x(from + t))}" y2="${axisY + 5}" stroke="#333"/>`,
      `<text x="${fixed(x(from + t))}" y="${axisY + 18}" text-anchor="middle">${+t.toFixed(3)}</text>`
    )
  }
  out.push(`<text x="${left + plot}" y="${axisY + 34}" text-anchor="end">ms</text>`, `</svg>`)
  return out.join("\n") + "\n"
}

/** A lane's time in words: run, look, asleep, outside; waiting when any. */
export const summaryLine = (summary: LaneSummary, window: number): string => {
  if (summary.lane < 0) return `in a call ${percent(summary.own.get(Kind.Call) ?? 0, window)}`
  const run = (summary.own.get(Kind.Task) ?? 0) + (summary.own.get(Kind.Subtask) ?? 0) +
    (summary.own.get(Kind.Stolen) ?? 0)
  const parts = [
    `run ${percent(run, window)}`,
    `look ${percent((summary.own.get(Kind.Look) ?? 0) + (summary.own.get(Kind.Steal) ?? 0), window)}`,
    `asleep ${percent(summary.own.get(Kind.Asleep) ?? 0, window)}`,
    `loop wait ${percent(summary.loopWaiting, window)}`,
    `active ${percent(summary.active, window)}`
  ]
  if (summary.gc > 0) parts.push(`gc ${percent(summary.gc, window)}`)
  if (summary.waiting > 0) parts.push(`children away ${percent(summary.waiting, window)}`)
  return parts.join(", ")
}
