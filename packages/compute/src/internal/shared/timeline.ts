/**
 * The timeline: what each thread of a pool was doing, span by span, recorded only when asked (`npm run
 * bench:timeline`, the `steal` bench row, tests). Off, each hook costs one boolean check and records nothing.
 *
 * On (the environment variable {@link envName} is "1" when the pool starts its workers), each worker writes fixed-size
 * records — kind, start, end, two ids — into a ring of shared memory it allocates at start-up, and hands the ring to
 * the collector over a `BroadcastChannel`: the collector reads the rings after a run, no message per span, no flush.
 * Times are `performance.timeOrigin + performance.now()` (less a constant), so lanes of different threads align.
 * Each span also carries the thread's event-loop idle time at its ends (`eventLoopUtilization().idle`, ~0.4 µs a
 * reading), so that a gap between spans can be told apart: the event loop waiting for a message, or the thread active
 * outside any span (runtime code, GC, or descheduled by the OS). Thread CPU time would say more, but Node's
 * (`process.threadCpuUsage`) and Linux's schedstat both move in scheduler ticks (4 ms here): too coarse.
 *
 * A worker's spans nest as its stack does (a stolen subtask runs inside a look for work), so the innermost open span
 * is what the thread is doing. "Waiting on children" is not recorded but derived ({@link collect}): the time a
 * subtask this worker lent is away, from a peer's steal to its answer here.
 */
import { performance, PerformanceObserver } from "node:perf_hooks"
import { BroadcastChannel } from "node:worker_threads"

/** The environment variable that switches the recorder on in the workers a pool starts. */
export const envName = "EFFECT_COMPUTE_TIMELINE"
const channelName = "effect-compute:timeline"

export const Kind = {
  /** a task from the main thread: its handler's synchronous run (a = task id) */
  Task: 1,
  /** a subtask from this worker's own queue, run here (a = root task id) */
  Subtask: 2,
  /** a subtask stolen from a peer, run here (a = owner, b = token) */
  Stolen: 3,
  /** looking for work: the inbox, the peers' slots, the idle spin; what it finds runs inside it */
  Look: 4,
  /** hungry: out of work, flag set, until something wakes it */
  Asleep: 5,
  /** a successful steal, the time inside the peer's slots (a = owner, b = token) */
  Steal: 6,
  /** derived: a subtask lent from here is away, stolen, until its answer is read (a = thief, b = token) */
  Waiting: 7,
  /** an instant: start = queued, end = published in a steal slot (b = token) */
  Publish: 8,
  /** an instant: a thief's answer read (a = thief, b = token) */
  Answered: 9,
  /** the main thread: a call from submission to result (recorded by whoever drives the pool) */
  Call: 10,
  /** a garbage collection in this thread's heap (from a `gc` PerformanceObserver: it overlaps the spans it paused) */
  Gc: 11
} as const
export type Kind = (typeof Kind)[keyof typeof Kind]

/** A span read back, times in ms on the shared clock. */
export interface Span {
  /** the worker's id, or -1 for the main thread */
  readonly lane: number
  readonly kind: Kind
  readonly start: number
  readonly end: number
  readonly a: number
  readonly b: number
  /** the thread's event-loop idle time (ms) at the span's start and end; NaN where not read (steals, instants, the
   * main thread) */
  readonly idleStart: number
  readonly idleEnd: number
}

const fields = 7
const headerBytes = 16
const capacity = 1 << 16

// The clock of every thread, less a constant so that a double keeps sub-microsecond steps.
const origin = performance.timeOrigin - 1_700_000_000_000
const now = (): number => origin + performance.now()
/** The thread's event loop's idle time so far (ms): it grows while the loop waits for a message or a timer. */
const idleNow = (): number => performance.eventLoopUtilization().idle

/** A thread's ring: header [written (Int32), lane (Int32)], then `capacity` records of `fields` doubles. */
class Ring {
  readonly buffer: SharedArrayBuffer
  private readonly header: Int32Array
  private readonly records: Float64Array
  constructor(buffer: SharedArrayBuffer) {
    this.buffer = buffer
    this.header = new Int32Array(buffer, 0, 2)
    this.records = new Float64Array(buffer, headerBytes)
  }

  static allocate(lane: number): Ring {
    const ring = new Ring(new SharedArrayBuffer(headerBytes + capacity * fields * 8))
    ring.header[1] = lane
    return ring
  }

  get lane(): number {
    return this.header[1]!
  }

  write(kind: Kind, start: number, end: number, a: number, b: number, idleStart = NaN, idleEnd = NaN): void {
    const written = this.header[0]!
    const at = (written % capacity) * fields
    this.records[at] = kind
    this.records[at + 1] = start
    this.records[at + 2] = end
    this.records[at + 3] = a
    this.records[at + 4] = b
    this.records[at + 5] = idleStart
    this.records[at + 6] = idleEnd
    // Last: a reader on another thread sees whole records only.
    Atomics.store(this.header, 0, written + 1)
  }

  /** What the ring still holds, oldest first (a full ring has dropped the oldest). */
  read(): Array<Span> {
    const written = Atomics.load(this.header, 0)
    const spans: Array<Span> = []
    for (let i = Math.max(0, written - capacity); i < written; i++) {
      const at = (i % capacity) * fields
      spans.push({
        lane: this.lane,
        kind: this.records[at] as Kind,
        start: this.records[at + 1]!,
        end: this.records[at + 2]!,
        a: this.records[at + 3]!,
        b: this.records[at + 4]!,
        idleStart: this.records[at + 5]!,
        idleEnd: this.records[at + 6]!
      })
    }
    return spans
  }
}

// ---- the recorder, in each thread

let ring: Ring | undefined
/** read by every hook: the one check a hook costs when the timeline is off */
let on = false
/** when this worker said it was hungry, until it does something again (0: not asleep), and its idle time then */
let asleepSince = 0
let asleepIdle = 0
/** the idle time at the start of each open span: spans nest as the stack does */
const idleStarts: Array<number> = []
/** when each queued subtask was queued, while it waits (only when on) */
const queuedAt = new WeakMap<object, number>()

/** Worker start-up: records from now on if the pool was started with the timeline on. */
export const attach = (workerId: number): void => {
  if (process.env[envName] !== "1" || ring !== undefined) return
  ring = Ring.allocate(workerId)
  on = true
  const gcs = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      ring!.write(Kind.Gc, origin + entry.startTime, origin + entry.startTime + entry.duration, 0, 0)
    }
  })
  gcs.observe({ entryTypes: ["gc"] })
  const channel = new BroadcastChannel(channelName)
  channel.postMessage(ring.buffer)
  channel.close()
}

/** The start of a span, or 0 when the timeline is off; each must be ended with {@link end}. */
export const begin = (): number => {
  if (!on) return 0
  const at = now()
  const idle = idleNow()
  if (asleepSince !== 0) wake(at, idle)
  idleStarts.push(idle)
  return at
}

/** Ends a span begun with {@link begin}. */
export const end = (kind: Kind, started: number, a = 0, b = 0): void => {
  if (started !== 0) ring!.write(kind, started, now(), a, b, idleStarts.pop(), idleNow())
}

/** A time to measure a steal from (0 when off): not a span yet, as most tries find nothing. */
export const mark = (): number => (on ? now() : 0)

/** A steal from `owner` succeeded; it took since `marked`. */
export const stole = (marked: number, owner: number, token: number): void => {
  if (marked !== 0) ring!.write(Kind.Steal, marked, now(), owner, token)
}

/** Wraps a function in a span (for a host's callback, where a pair of calls would not fit). */
export const around = <A>(kind: Kind, f: () => A): A => {
  if (!on) return f()
  const started = begin()
  try {
    return f()
  } finally {
    end(kind, started)
  }
}

/** The worker's hungry flag changed: set, it is asleep from now until it does something again. */
export const hungry = (isHungry: boolean): void => {
  if (!on) return
  if (isHungry) {
    if (asleepSince !== 0) return
    asleepSince = now()
    asleepIdle = idleNow()
  } else if (asleepSince !== 0) wake(now(), idleNow())
}

const wake = (at: number, idle: number) => {
  ring!.write(Kind.Asleep, asleepSince, at, 0, 0, asleepIdle, idle)
  asleepSince = 0
}

/** A subtask was queued here (its queued time is kept for {@link published}). */
export const queued = (subtask: object): void => {
  if (on) queuedAt.set(subtask, now())
}

/** A subtask was published in a steal slot under `token`. */
export const published = (subtask: object, token: number): void => {
  if (!on) return
  const at = now()
  ring!.write(Kind.Publish, queuedAt.get(subtask) ?? at, at, 0, token)
}

/** A thief's answer to a lent subtask was read. */
export const answered = (thief: number, token: number): void => {
  if (!on) return
  const at = now()
  ring!.write(Kind.Answered, at, at, thief, token)
}

// ---- the collector, on the thread that drives the pool

export interface Collector {
  /** Records a main-thread span (a call, say) in the main thread's lane. */
  readonly record: (kind: Kind, start: number, end: number, a?: number) => void
  /** the shared clock, for {@link record} and for picking a window */
  readonly now: () => number
  /** Every lane's spans (the workers' and the main thread's), with `Waiting` derived, clipped to [from, to]. */
  readonly spans: (from?: number, to?: number) => Array<Span>
  /** Stops collecting; workers started from now on record nothing. */
  readonly close: () => void
}

/**
 * Starts collecting: the workers of every pool started from now on, in this process, record their spans. Call it
 * before the pool starts (the switch is an environment variable, copied by each worker when it starts).
 */
export const collect = (): Collector => {
  process.env[envName] = "1"
  const rings: Array<Ring> = []
  const main = Ring.allocate(-1)
  const channel = new BroadcastChannel(channelName)
  channel.addEventListener("message", (event) => rings.push(new Ring((event as MessageEvent).data)))
  // Not kept alive by the channel: the program ends when its pool does.
  channel.unref()
  return {
    record: (kind, start, end, a = 0) => main.write(kind, start, end, a, 0),
    now,
    spans: (from = -Infinity, to = Infinity) => {
      const all = [main, ...rings].flatMap((ring) => ring.read())
      return [...all, ...waiting(all)].flatMap((span) => {
        if (span.end < from || span.start > to) return []
        return [{ ...span, start: Math.max(span.start, from), end: Math.min(span.end, to) }]
      })
    },
    close: () => {
      delete process.env[envName]
      channel.close()
    }
  }
}

/** The time each lent subtask was away: from the thief's steal to the owner reading its answer. */
const waiting = (spans: ReadonlyArray<Span>): Array<Span> => {
  const steals = new Map<string, Span>()
  for (const span of spans) if (span.kind === Kind.Steal) steals.set(`${span.a}:${span.b}`, span)
  const derived: Array<Span> = []
  for (const span of spans) {
    if (span.kind !== Kind.Answered) continue
    const steal = steals.get(`${span.lane}:${span.b}`)
    if (steal === undefined || steal.start > span.end) continue
    derived.push({ ...span, kind: Kind.Waiting, start: steal.start, end: span.end })
  }
  return derived
}

/** What stealing cost in a set of spans: per stolen subtask, queued to started, and the steal itself (ms). */
export interface StealTimes {
  /** from the owner queueing the subtask to the thief starting it */
  readonly queuedToStarted: Array<number>
  /** from the owner publishing it to the thief starting it */
  readonly publishedToStarted: Array<number>
  /** the time inside a peer's slots for a successful steal */
  readonly cost: Array<number>
}

/** Steal times of the subtasks stolen from `from` on; `spans` unclipped (a subtask may have been queued before). */
export const stealTimes = (spans: ReadonlyArray<Span>, from = -Infinity): StealTimes => {
  const publishes = new Map<string, Span>()
  for (const span of spans) if (span.kind === Kind.Publish) publishes.set(`${span.lane}:${span.b}`, span)
  const times: StealTimes = { queuedToStarted: [], publishedToStarted: [], cost: [] }
  for (const span of spans) {
    if (span.start < from) continue
    if (span.kind === Kind.Steal) times.cost.push(span.end - span.start)
    if (span.kind !== Kind.Stolen) continue
    const publish = publishes.get(`${span.a}:${span.b}`)
    if (publish === undefined || publish.end > span.start) continue
    times.queuedToStarted.push(span.start - publish.start)
    times.publishedToStarted.push(span.start - publish.end)
  }
  return times
}
