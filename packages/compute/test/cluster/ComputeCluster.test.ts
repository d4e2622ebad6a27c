/**
 * The entity mapping, in one process: a runner (effect/cluster's TestRunner, in-memory storage, messages still
 * serialized as if remote) hosting the test tasks on an inline pool, and the client pool calling it.
 */
import { afterAll, assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber, Layer } from "effect"
import { ComputeCluster, ComputeError, ComputeParallel, ComputePool, ComputeScope } from "effect-compute"
import * as Sharding from "effect/cluster/Sharding"
import * as TestRunner from "effect/cluster/TestRunner"
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Slots from "../../src/internal/cluster/slots.ts"
import { poll, reasonOf, squashedOf } from "../helpers.ts"
import {
  Bytes,
  Compute,
  Hold,
  Length,
  Negative,
  Square,
  Stamp,
  SumOfSquares,
  tasks,
  Throw,
  WhereAmI
} from "./fixtures/tasks.ts"

const frameLimit = 64 * 1024

/** The priorities the runner's pool was given, to see what travelled. */
const priorities: Array<number | undefined> = []
const RunnerPool = Layer.effect(
  ComputePool.ComputePool,
  Effect.map(Effect.service(ComputePool.ComputePool), (pool) =>
    ComputePool.ComputePool.of({
      ...pool,
      execute: (task, payload, options) => {
        priorities.push(options?.priority)
        return pool.execute(task, payload, options)
      }
    }))
).pipe(Layer.provide(ComputePool.layerInline({ tasks })))

const Runner = ComputeCluster.layerRunner(Compute, { maxFrameSize: frameLimit }).pipe(Layer.provide(RunnerPool))
const Client = ComputeCluster.layerClient(Compute, { threads: 4, maxFrameSize: frameLimit })
const TestCluster = Layer.merge(Client, Runner).pipe(Layer.provideMerge(TestRunner.layer))

const scratch = mkdtempSync(join(tmpdir(), "ec-cluster-unit-"))

describe("ComputeCluster (in-process runner)", () => {
  it.layer(TestCluster, { timeout: 30_000, excludeTestServices: true })((it) => {
    it.effect("round-trips every payload and result through the tasks' schemas", () =>
      Effect.gen(function*() {
        assert.strictEqual(yield* ComputePool.execute(Square, 12), 144)
        const at = new Date(Date.UTC(2026, 11, 1, 9, 30))
        const stamped = yield* ComputePool.execute(Stamp, { at, tags: ["a", "b"] })
        assert.deepStrictEqual(stamped, { year: 2026, tags: ["b", "a"], later: new Date(at.getTime() + 1) })
        assert.instanceOf(stamped.later, Date)
        assert.deepStrictEqual(yield* ComputePool.execute(WhereAmI, 7), {
          runner: "in-process",
          pid: process.pid,
          n: 7
        })
        assert.strictEqual(yield* ComputePool.execute(SumOfSquares, [1, 2, 3]), 14)
      }))

    it.effect("delivers a typed failure as its class, a defect as TaskDefect", () =>
      Effect.gen(function*() {
        const failure = squashedOf(yield* Effect.exit(ComputePool.execute(Square, -3)))
        assert.instanceOf(failure, Negative)
        assert.strictEqual((failure as Negative).n, -3)
        const nested = squashedOf(yield* Effect.exit(ComputePool.execute(SumOfSquares, [1, -2])))
        assert.instanceOf(nested, Negative)
        const exit = yield* Effect.exit(ComputePool.execute(Throw, "remote boom"))
        assert.isTrue(Exit.isFailure(exit) && Cause.hasDies(exit.cause), "a defect, as from a local pool")
        const defect = squashedOf(exit)
        assert.instanceOf(defect, ComputeError.TaskDefect)
        assert.strictEqual((defect as ComputeError.TaskDefect).errorName, "RangeError")
        assert.strictEqual((defect as ComputeError.TaskDefect).message, "remote boom")
        // The entity was not restarted by the defect: the next call is answered.
        assert.strictEqual(yield* ComputePool.execute(Square, 2), 4)
      }))

    it.effect("maps in order over chunks (ComputeParallel.map unchanged)", () =>
      Effect.gen(function*() {
        const items = Array.from({ length: 1_000 }, (_, i) => i)
        const squares = yield* ComputeParallel.map(items, Square)
        assert.deepStrictEqual(squares, items.map((i) => i * i))
        const stats = yield* ComputePool.stats
        assert.strictEqual(stats.threads, 4)
        // 4 threads: about 8 chunks per thread, so 32 calls for 1,000 items, not 1,000.
        assert.isAtMost(stats.submitted, 200)
      }))

    it.effect("runs join and compute scopes unchanged", () =>
      Effect.gen(function*() {
        assert.deepStrictEqual(
          yield* ComputePool.join(ComputePool.execute(Square, 2), ComputePool.execute(Square, 3)),
          [
            4,
            9
          ]
        )
        const squares = yield* ComputeScope.scoped<
          number,
          ComputeError.ComputeError | Negative,
          ComputePool.ComputePool
        >(
          (scope) => Effect.forEach([1, 2, 3, 4], (n) => scope.spawn(ComputePool.execute(Square, n)))
        )
        assert.deepStrictEqual(squares, [1, 4, 9, 16])
      }))

    it.effect("refuses what cannot go remote — a transfer list, a broadcast — with InvalidOptions", () =>
      Effect.gen(function*() {
        const buffer = new ArrayBuffer(8)
        const transfer = reasonOf(yield* Effect.exit(ComputePool.execute(Square, 1, { transfer: [buffer] })))
        assert.strictEqual(transfer._tag, "InvalidOptions")
        assert.strictEqual((transfer as ComputeError.InvalidOptions).key, "transfer")
        assert.strictEqual(buffer.byteLength, 8, "nothing was moved")
        const broadcast = reasonOf(yield* Effect.exit(ComputePool.broadcast(Square, 2)))
        assert.strictEqual((broadcast as ComputeError.InvalidOptions).key, "broadcast")
      }))

    it.effect("carries a call's priority to the runner's pool", () =>
      Effect.gen(function*() {
        priorities.length = 0
        assert.strictEqual(yield* ComputePool.execute(Square, 6, { priority: 3 }), 36)
        assert.strictEqual(
          yield* ComputePool.execute(Square, 6, { priority: -1 }).pipe(ComputeCluster.withKey("k")),
          36
        )
        assert.strictEqual(yield* ComputePool.execute(Square, 6), 36)
        assert.deepStrictEqual(priorities, [3, -1, undefined])
      }))

    it.effect("refuses a payload or a result past the frame limit, with EncodingError, and keeps serving", () =>
      Effect.gen(function*() {
        const payload = reasonOf(yield* Effect.exit(ComputePool.execute(Length, "y".repeat(frameLimit))))
        assert.strictEqual(payload._tag, "EncodingError")
        assert.strictEqual((payload as ComputeError.EncodingError).direction, "payload")
        const result = reasonOf(yield* Effect.exit(ComputePool.execute(Bytes, frameLimit)))
        assert.strictEqual(result._tag, "EncodingError")
        assert.strictEqual((result as ComputeError.EncodingError).direction, "result")
        assert.strictEqual(yield* ComputePool.execute(Length, "y".repeat(1_000)), 1_000)
      }))

    it.effect("interrupting the caller interrupts the task on the runner", () =>
      Effect.gen(function*() {
        const fiber = yield* Effect.forkChild(ComputePool.execute(Hold, { dir: scratch, id: "interrupt", ms: 20_000 }))
        yield* poll(Effect.sync(() => existsSync(join(scratch, "interrupt.started"))))
        yield* Fiber.interrupt(fiber)
        yield* poll(Effect.sync(() => existsSync(join(scratch, "interrupt.interrupted"))))
        assert.isFalse(existsSync(join(scratch, "interrupt.runs")))
      }))

    it.effect("runs a persisted call once per key, and answers a repeat from storage", () =>
      Effect.gen(function*() {
        const call = ComputePool.execute(Hold, { dir: scratch, id: "persisted", ms: 1 })
        assert.strictEqual(yield* call.pipe(ComputeCluster.persisted("hold-1")), "in-process")
        assert.strictEqual(yield* call.pipe(ComputeCluster.persisted("hold-1")), "in-process")
        assert.strictEqual(readFileSync(join(scratch, "persisted.runs"), "utf8"), "in-process\n")
        yield* call.pipe(ComputeCluster.persisted("hold-2"))
        assert.strictEqual(readFileSync(join(scratch, "persisted.runs"), "utf8"), "in-process\nin-process\n")
      }))

    it.effect("counts every call once, in the pool's outcome vocabulary", () =>
      Effect.gen(function*() {
        const before = yield* ComputePool.stats
        yield* ComputePool.execute(Square, 3)
        yield* Effect.exit(ComputePool.execute(Square, -3))
        yield* Effect.exit(ComputePool.execute(Throw, "x"))
        yield* Effect.exit(ComputePool.execute(Square, 1, { transfer: [new ArrayBuffer(1)] }))
        const after = yield* ComputePool.stats
        assert.strictEqual(after.submitted - before.submitted, 4)
        assert.strictEqual(after.succeeded - before.succeeded, 1)
        assert.strictEqual(after.failed - before.failed, 1)
        assert.strictEqual(after.defects - before.defects, 1)
        assert.strictEqual(after.rejected - before.rejected, 1)
        assert.strictEqual(after.activeTasks, 0)
      }))

    it.effect("keyed calls stay on one entity; unkeyed ones cover every shard", () =>
      Effect.gen(function*() {
        const sharding = yield* Sharding.Sharding
        const ids = Slots.covering(300, "default", sharding.getShardId)
        assert.strictEqual(ids.length, 300)
        assert.strictEqual(new Set(ids.map((id) => sharding.getShardId(id, "default").id)).size, 300)
        const pick = Slots.picker(ids)
        assert.strictEqual(pick("user-1"), pick("user-1"))
        const spread = new Set(Array.from({ length: 300 }, () => pick(undefined)))
        assert.strictEqual(spread.size, 300)
        assert.strictEqual(yield* ComputePool.execute(Square, 5).pipe(ComputeCluster.withKey("user-1")), 25)
      }))
  })

  it("rejects a task set with two tasks of one name", () => {
    assert.throws(() => ComputeCluster.make("Twice", [Square, Square]), /two tasks are named "Square"/)
  })
})

afterAll(() => rmSync(scratch, { recursive: true, force: true }))
