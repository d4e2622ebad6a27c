import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber } from "effect"
import { ComputeError, ComputePool } from "effect-compute"
import { Add, BusyFor, Double, Sleep, SumView, WhereAmI } from "./fixtures/tasks.ts"
import { poll } from "./helpers.ts"

const entry = new URL("./fixtures/worker.ts", import.meta.url)

describe("the bounded queue", () => {
  it.live("with onQueueFull: \"fail\", a call beyond the bound fails with QueueFull and the rest complete", () =>
    Effect.gen(function*() {
      // One worker taking one task at a time, and room for two more in the queue.
      const running = yield* Effect.forkChild(ComputePool.execute(Sleep, 200))
      yield* poll(Effect.map(ComputePool.stats, (stats) => stats.activeTasks === 1))
      const queued = yield* Effect.forkChild(
        Effect.all([ComputePool.execute(Add, [1, 1]), ComputePool.execute(Add, [2, 2])], { concurrency: 2 })
      )
      yield* poll(Effect.map(ComputePool.stats, (stats) => stats.queuedTasks === 2))
      const exit = yield* Effect.exit(ComputePool.execute(Add, [3, 3]))
      assert.isTrue(Exit.isFailure(exit))
      const error = Cause.squash((exit as Exit.Failure<number, unknown>).cause) as ComputeError.ComputeError
      assert.strictEqual(error.reason._tag, "QueueFull")
      assert.strictEqual((error.reason as ComputeError.QueueFull).capacity, 2)
      assert.strictEqual(yield* Fiber.join(running), "slept")
      assert.deepStrictEqual(yield* Fiber.join(queued), [2, 4])
      const stats = yield* ComputePool.stats
      assert.strictEqual(stats.rejected, 1)
      assert.strictEqual(stats.succeeded, 3)
    }).pipe(
      Effect.provide(
        ComputePool.layer({ entry, threads: 1, maxInFlightPerWorker: 1, maxQueue: 2, onQueueFull: "fail" })
      )
    ))

  it.live("by default, callers beyond the bound suspend until there is room, and all complete in order", () =>
    Effect.gen(function*() {
      const running = yield* Effect.forkChild(ComputePool.execute(Sleep, 100))
      yield* poll(Effect.map(ComputePool.stats, (stats) => stats.activeTasks === 1))
      const callers = yield* Effect.forkChild(
        Effect.all(Array.from({ length: 50 }, (_, i) => ComputePool.execute(Add, [i, 0])), { concurrency: "unbounded" })
      )
      // 2 in the queue, 48 callers suspended behind it: all counted as waiting, none rejected.
      yield* poll(Effect.map(ComputePool.stats, (stats) => stats.queuedTasks === 50))
      assert.strictEqual(yield* Fiber.join(running), "slept")
      assert.deepStrictEqual(yield* Fiber.join(callers), Array.from({ length: 50 }, (_, i) => i))
      const stats = yield* ComputePool.stats
      assert.strictEqual(stats.rejected, 0)
      assert.strictEqual(stats.queuedTasks, 0)
    }).pipe(Effect.provide(ComputePool.layer({ entry, threads: 1, maxInFlightPerWorker: 1, maxQueue: 2 }))))

  it.live("tasks go to the least-loaded worker: four slow tasks on two workers land two on each", () =>
    Effect.gen(function*() {
      const workers = yield* Effect.all(Array.from({ length: 4 }, () => ComputePool.execute(WhereAmI, 100)), {
        concurrency: "unbounded"
      })
      const perWorker = new Map<number, number>()
      for (const id of workers) perWorker.set(id, (perWorker.get(id) ?? 0) + 1)
      assert.deepStrictEqual([...perWorker.values()], [2, 2])
    }).pipe(Effect.provide(ComputePool.layer({ entry, threads: 2 }))))

  it.live("an idle worker takes the unstarted tasks of a worker busy in a long task (work stealing)", () =>
    Effect.gen(function*() {
      // Submitted together: the long task and half of the short ones land on one worker, behind it.
      const long = yield* Effect.forkChild(ComputePool.execute(BusyFor, 1_500))
      const short = yield* Effect.forkChild(
        Effect.all(Array.from({ length: 20 }, (_, i) => ComputePool.execute(Double, i)), { concurrency: "unbounded" })
      )
      assert.deepStrictEqual(yield* Fiber.join(short), Array.from({ length: 20 }, (_, i) => 2 * i))
      // Every short task finished while the long one still ran: none waited behind it.
      assert.isUndefined(long.pollUnsafe())
      assert.isAbove((yield* ComputePool.stats).stolen, 0)
      assert.strictEqual(yield* Fiber.join(long), "done")
    }).pipe(Effect.provide(ComputePool.layer({ entry, threads: 2 }))))

  it.live("a task that moved its buffers is never taken back: each buffer reaches exactly one handler", () =>
    Effect.gen(function*() {
      // Submitted together: call 0 keeps its worker busy, and the calls behind it there would be taken back for the
      // idle worker, but their buffers moved with them to the busy one.
      const views = Array.from({ length: 8 }, (_, i) => new Float64Array(1_024).fill(i))
      const exits = yield* Effect.all(
        views.map((view, i) =>
          Effect.exit<string | number, ComputeError.ComputeError, ComputePool.ComputePool>(
            i === 0
              ? ComputePool.execute(BusyFor, 300)
              : ComputePool.execute(SumView, view, { transfer: [view.buffer] })
          )
        ),
        { concurrency: "unbounded" }
      )
      const stats = yield* ComputePool.stats
      assert.deepStrictEqual(
        exits.map((exit) => Exit.isSuccess(exit) ? exit.value : String(exit)),
        ["done", ...views.slice(1).map((_, i) => (i + 1) * 1_024)],
        JSON.stringify(stats)
      )
      assert.strictEqual(stats.rejected, 0)
      assert.strictEqual(stats.failed, 0)
    }).pipe(Effect.provide(ComputePool.layer({ entry, threads: 2 }))))
})
