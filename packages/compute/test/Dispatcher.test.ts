/**
 * The dispatcher on fake threads and Effect's `TestClock`: grace periods, respawn backoff, stealing and drain
 * timeouts asserted as orderings and counts, with no thread and no sleeping.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { TestClock } from "effect/testing"
import { Dispatcher, type DispatcherOptions, quietAfterMs } from "../src/internal/main/dispatcher.ts"
import { respawnDelayMs } from "../src/internal/main/workers.ts"
import * as Protocol from "../src/internal/wire/protocol.ts"
import type { Settlement } from "../src/internal/wire/settlement.ts"
import { FakeThread, testClock } from "./fakes/fakeThread.ts"
import { dispatcherOptions } from "./fixtures/dispatcherOptions.ts"
import { Add } from "./fixtures/tasks.ts"

/** One turn of the event loop: the dispatcher's microtasks and immediates run; no time passes on the clock. */
const turn = Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))

const advance = (ms: number) => Effect.andThen(TestClock.adjust(ms), turn)

const setup = (threads: number, options: Partial<DispatcherOptions> = {}) =>
  Effect.gen(function*() {
    const clock = testClock(yield* Effect.context<never>())
    const spawned: Array<FakeThread> = []
    const spawnedAt: Array<number> = []
    const dispatcher = new Dispatcher(
      dispatcherOptions(threads, options),
      (id) => {
        const thread = new FakeThread(id)
        spawned.push(thread)
        spawnedAt.push(clock.now())
        return thread
      },
      clock
    )
    const started = dispatcher.start()
    for (const thread of spawned) thread.ready()
    yield* Effect.promise(() => started)
    const settlements: Array<Settlement["_tag"]> = []
    const submit = (a: number, priority = 0) =>
      dispatcher.submit(
        Add,
        Protocol.Kind.Single,
        [a, 1],
        (settlement) => settlements.push(settlement._tag),
        { priority }
      )!
    /** Submits a task and has the first worker start it, as it would on receiving it. */
    const startOnFirst = (a: number) =>
      Effect.gen(function*() {
        const job = submit(a)
        yield* turn
        assert.isTrue(spawned[0]!.start(job.id), "the task reached the first worker")
        return job
      })
    return { dispatcher, spawned, spawnedAt, settlements, submit, startOnFirst, clock }
  })

describe("the dispatcher, on fake threads and the TestClock", () => {
  it.effect("an interrupted task that ignores its signal has its worker terminated after the grace period", () =>
    Effect.gen(function*() {
      const { clock, dispatcher, spawned, startOnFirst } = yield* setup(1)
      const worker = spawned[0]!
      const job = yield* startOnFirst(1)

      let stoppedAt: number | undefined
      dispatcher.cancel(job, () => stoppedAt = clock.now())
      assert.isTrue(worker.posted.some((message) => message[0] === Protocol.Cancel && message[1] === job.id))
      assert.strictEqual(worker.claimState(job.id), Protocol.Claim.CancelRequested)

      yield* advance(999)
      assert.isFalse(worker.terminated, "terminated before the grace period ended")
      assert.isUndefined(stoppedAt)
      yield* advance(1)
      assert.isTrue(worker.terminated)
      yield* turn
      assert.strictEqual(stoppedAt, 1_000, "the interrupter resumes when the worker is gone")
      assert.strictEqual(dispatcher.counts.interrupted, 1)
      assert.strictEqual(dispatcher.restarts, 1)
      assert.strictEqual(spawned.length, 2, "a replacement was spawned")
    }))

  it.effect("a task that honours its interruption within the grace period keeps its worker", () =>
    Effect.gen(function*() {
      const { dispatcher, spawned, startOnFirst } = yield* setup(1)
      const worker = spawned[0]!
      const job = yield* startOnFirst(1)
      let stopped = false
      dispatcher.cancel(job, () => stopped = true)
      yield* advance(500)
      worker.report(job.id, Protocol.Outcome.Interrupted, undefined)
      assert.isTrue(stopped)
      yield* advance(5_000)
      assert.isFalse(worker.terminated, "the grace timer was cleared when the task ended")
      assert.strictEqual(dispatcher.restarts, 0)
      assert.strictEqual(dispatcher.counts.interrupted, 1)
    }))

  it.effect("respawn backoff grows while workers die without finishing anything, and starts over after a success", () =>
    Effect.gen(function*() {
      const { clock, dispatcher, spawned, spawnedAt, submit } = yield* setup(1)
      const gaps: Array<number> = []
      for (let crash = 0; crash < 6; crash++) {
        const count = spawned.length
        const diedAt = clock.now()
        spawned[count - 1]!.exit(1)
        const expected = respawnDelayMs(crash)
        if (expected > 0) {
          yield* advance(expected - 1)
          assert.strictEqual(spawned.length, count, `respawned before ${expected} ms after crash ${crash + 1}`)
          yield* advance(1)
        }
        assert.strictEqual(spawned.length, count + 1, `not respawned ${expected} ms after crash ${crash + 1}`)
        gaps.push(spawnedAt[count]! - diedAt)
        spawned[count]!.ready()
      }
      assert.deepStrictEqual(gaps, [0, 25, 50, 100, 200, 400])

      // A task finished on the latest worker: the next crash is replaced at once again.
      const job = submit(1)
      yield* turn
      const latest = spawned[spawned.length - 1]!
      latest.start(job.id)
      latest.succeed(job.id, 2)
      latest.exit(1)
      assert.strictEqual(spawned.length, 8, "replaced at once after a success")
      assert.strictEqual(dispatcher.restarts, 7)
    }))

  it.effect("an idle worker takes the unstarted tasks of a quiet one, once it has been quiet long enough", () =>
    Effect.gen(function*() {
      const { dispatcher, spawned, submit } = yield* setup(2)
      const [busy, idle] = spawned as [FakeThread, FakeThread]
      const jobs = [1, 2, 3, 4, 5].map((a) => submit(a))
      yield* turn
      // Least-loaded dispatch alternates: the first worker holds three, the second two.
      assert.deepStrictEqual(busy.received, [jobs[0]!.id, jobs[2]!.id, jobs[4]!.id])
      assert.deepStrictEqual(idle.received, [jobs[1]!.id, jobs[3]!.id])
      // The first starts a long task and says nothing; the second finishes both of its tasks.
      busy.start(jobs[0]!.id)
      for (const job of [jobs[1]!, jobs[3]!]) {
        idle.start(job.id)
        idle.succeed(job.id, 0)
      }
      yield* turn
      assert.strictEqual(idle.received.length, 2, "nothing taken while the busy worker may still answer")

      yield* advance(quietAfterMs)
      assert.strictEqual(idle.received.length, 2, `nothing taken within ${quietAfterMs} ms`)
      yield* advance(1)
      assert.deepStrictEqual(idle.received.slice(2), [jobs[2]!.id, jobs[4]!.id], "the unstarted ones, in order")
      assert.strictEqual(busy.claimState(jobs[2]!.id), Protocol.Claim.Revoked)
      assert.isFalse(busy.start(jobs[4]!.id), "the busy worker can no longer start a task taken from it")
      assert.strictEqual(dispatcher.counts.stolen, 2)
    }))

  it.effect("draining waits for running tasks up to its timeout; closing then fails them with Closed", () =>
    Effect.gen(function*() {
      const { dispatcher, settlements, spawned, startOnFirst, submit } = yield* setup(1)
      yield* startOnFirst(1)

      let drained = false
      const draining = dispatcher.drain(500).then(() => drained = true)
      submit(2)
      assert.deepStrictEqual(settlements, ["Closed"], "a submission while draining is refused at once")
      yield* advance(499)
      assert.isFalse(drained)
      yield* advance(1)
      yield* Effect.promise(() => draining)
      assert.isTrue(drained)

      yield* Effect.promise(() => dispatcher.close())
      assert.deepStrictEqual(settlements, ["Closed", "Closed"])
      assert.isTrue(spawned[0]!.terminated)
      assert.strictEqual(dispatcher.counts.rejected, 2)
      assert.strictEqual(dispatcher.counts.submitted, 2)
    }))

  it.effect("draining ends as soon as the last task does, before its timeout", () =>
    Effect.gen(function*() {
      const { dispatcher, settlements, spawned, startOnFirst } = yield* setup(1)
      const job = yield* startOnFirst(1)
      let drained = false
      const draining = dispatcher.drain(10_000).then(() => drained = true)
      yield* advance(100)
      assert.isFalse(drained)
      spawned[0]!.succeed(job.id, 2)
      yield* Effect.promise(() => draining)
      assert.isTrue(drained)
      assert.deepStrictEqual(settlements, ["Success"])
      yield* Effect.promise(() => dispatcher.close())
    }))

  it.effect("a task that crashes its worker K times within the window is quarantined for the cooling period", () =>
    Effect.gen(function*() {
      const quarantine = { crashes: 2, withinMs: 10_000, forMs: 60_000 }
      const { clock, dispatcher, settlements, spawned, submit } = yield* setup(1, { quarantine })
      /** Runs a task on the live worker and has that worker crash while it runs; waits for the replacement. */
      const crashOnLatest = Effect.gen(function*() {
        const worker = spawned[spawned.length - 1]!
        const job = submit(1)
        yield* turn
        assert.isTrue(worker.start(job.id))
        const count = spawned.length
        worker.exit(1)
        while (spawned.length === count) yield* advance(25)
        spawned[spawned.length - 1]!.ready()
      })

      yield* crashOnLatest
      yield* advance(quarantine.withinMs + 1)
      // The first crash left the window: one crash within it is not enough.
      yield* crashOnLatest
      assert.strictEqual(dispatcher.quarantined, 0)
      submit(2)
      assert.notInclude(settlements, "Quarantined")
      yield* turn
      const live = spawned[spawned.length - 1]!
      const queuedBehind = live.received[live.received.length - 1]!
      live.start(queuedBehind)
      live.exit(1)
      const quarantinedAt = clock.now()
      assert.strictEqual(dispatcher.quarantined, 1, "the second crash within the window quarantines the task")
      while (spawned[spawned.length - 1] === live) yield* advance(25)
      spawned[spawned.length - 1]!.ready()

      submit(3)
      assert.strictEqual(settlements[settlements.length - 1], "Quarantined", "a call fails at once meanwhile")
      yield* advance(quarantinedAt + quarantine.forMs - clock.now() - 1)
      submit(4)
      assert.strictEqual(settlements[settlements.length - 1], "Quarantined", "still quarantined before it ends")
      yield* advance(1)
      const after = submit(5)
      yield* turn
      assert.include(spawned[spawned.length - 1]!.received, after.id, "dispatched again once the quarantine ended")
      assert.strictEqual(dispatcher.quarantined, 0)
    }))

  it.effect("a worker the pool terminates (an interrupted task ignoring its signal) counts no crash", () =>
    Effect.gen(function*() {
      const { dispatcher, spawned, startOnFirst } = yield* setup(1, {
        quarantine: { crashes: 1, withinMs: 10_000, forMs: 60_000 }
      })
      const job = yield* startOnFirst(1)
      dispatcher.cancel(job, () => {})
      yield* advance(1_000)
      yield* turn
      assert.isTrue(spawned[0]!.terminated)
      assert.strictEqual(dispatcher.restarts, 1)
      assert.strictEqual(dispatcher.quarantined, 0)
    }))

  it.effect("a higher priority is dispatched first; a lower one that waited long enough overtakes it (aging)", () =>
    Effect.gen(function*() {
      const { spawned, startOnFirst, submit } = yield* setup(1, { maxInFlightPerWorker: 1 })
      const worker = spawned[0]!
      const finish = (id: number) => Effect.andThen(Effect.sync(() => worker.succeed(id, 0)), turn)
      const first = yield* startOnFirst(1)
      const low = [submit(2, 0), submit(3, 0)]
      const high = submit(4, 5)
      yield* finish(first.id)
      assert.strictEqual(worker.received[1], high.id, "the high-priority task goes before the older low ones")
      yield* finish(high.id)
      yield* finish(low[0]!.id)
      assert.deepStrictEqual(worker.received.slice(2), [low[0]!.id, low[1]!.id], "the low ones in their order")

      // Aging: a priority-0 task that waited 1,000 ms (10 levels at 100 ms each) ranks above a fresh priority 5.
      yield* finish(low[1]!.id)
      const busy = submit(5, 0)
      yield* turn
      const aged = submit(6, 0)
      yield* advance(1_000)
      const fresh = submit(7, 5)
      yield* finish(busy.id)
      assert.strictEqual(worker.received[worker.received.length - 1], aged.id, "the aged task overtook the fresh one")
      yield* finish(aged.id)
      assert.strictEqual(worker.received[worker.received.length - 1], fresh.id)
    }))

  it.effect("a recycled worker's replacement starts before it leaves; it leaves only once it holds no task", () =>
    Effect.gen(function*() {
      const { dispatcher, spawned, submit } = yield* setup(1, {
        recycle: { maxTasks: 2, maxAgeMs: undefined, maxHeapMb: undefined }
      })
      const old = spawned[0]!
      const jobs = [1, 2, 3].map((a) => submit(a))
      yield* turn
      assert.deepStrictEqual(old.received, jobs.map((job) => job.id))
      old.start(jobs[0]!.id)
      old.start(jobs[1]!.id)
      old.succeed(jobs[0]!.id, 0)
      old.succeed(jobs[1]!.id, 0)
      // Its second task finished: it retires. The replacement is spawned at once; the unstarted third task is taken
      // back for it; the old worker still holds nothing, so it is told to leave.
      assert.strictEqual(spawned.length, 2, "the replacement was spawned before the old worker left")
      assert.strictEqual(old.claimState(jobs[2]!.id), Protocol.Claim.Revoked)
      assert.isTrue(old.posted.some((message) => message[0] === Protocol.Retire))
      spawned[1]!.ready()
      yield* turn
      assert.deepStrictEqual(spawned[1]!.received, [jobs[2]!.id])
      old.exit(0)
      assert.strictEqual(dispatcher.recycles, 1)
      assert.strictEqual(dispatcher.restarts, 0, "a recycle is not a restart")
      assert.strictEqual(spawned.length, 2, "no second replacement after it left")
    }))

  it.effect("tasks waiting while a replacement waits out its backoff spawn no extra worker", () =>
    Effect.gen(function*() {
      for (const maxThreads of [1, 2]) {
        const { spawned, submit } = yield* setup(1, { maxThreads })
        // Two crashes in a row without a finished task: the second replacement waits 25 ms.
        spawned[0]!.exit(1)
        spawned[1]!.ready()
        spawned[1]!.exit(1)
        assert.strictEqual(spawned.length, 2)
        for (let i = 0; i < 5; i++) submit(i)
        yield* turn
        // A fixed pool never grows; an elastic one counts the pending replacement against maxThreads (2).
        assert.strictEqual(spawned.length, maxThreads === 1 ? 2 : 3, `maxThreads ${maxThreads}`)
        yield* advance(25)
        assert.strictEqual(spawned.length, maxThreads === 1 ? 3 : 4, `the replacement, maxThreads ${maxThreads}`)
      }
    }))

  it.effect("a worker that never becomes ready is terminated at its start deadline, and the start fails", () =>
    Effect.gen(function*() {
      const clock = testClock(yield* Effect.context<never>())
      const spawned: Array<FakeThread> = []
      const dispatcher = new Dispatcher(
        dispatcherOptions(1, { startTimeoutMs: 5_000 }),
        (id) => {
          const thread = new FakeThread(id)
          spawned.push(thread)
          return thread
        },
        clock
      )
      let failure: string | undefined
      dispatcher.start().catch((error: { message: string }) => failure = error.message)
      yield* advance(4_999)
      assert.isFalse(spawned[0]!.terminated, "terminated before its deadline")
      yield* advance(1)
      assert.isTrue(spawned[0]!.terminated)
      yield* turn
      assert.include(failure ?? "", "did not become ready within 5000 ms")
    }))

  it.effect("a worker whose tasks are tiny is sent more at once; one whose tasks take longer, the usual limit", () =>
    Effect.gen(function*() {
      for (const [runMs, expected] of [[0.01, 64], [1, 16]] as const) {
        const { spawned, submit } = yield* setup(1, { maxInFlightPerWorker: 16, maxInFlightForTinyTasks: 64 })
        const worker = spawned[spawned.length - 1]!
        const jobs = Array.from({ length: 200 }, (_, i) => submit(i))
        yield* turn
        // Nothing measured yet: the usual limit.
        assert.strictEqual(worker.received.length, 16)
        worker.start(jobs[0]!.id)
        worker.succeed(jobs[0]!.id, 1, runMs)
        yield* turn
        assert.strictEqual(worker.received.length - 1, expected, `tasks of ${runMs} ms`)
      }
    }))
})
