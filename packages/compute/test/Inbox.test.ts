import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { ComputeParallel, ComputePool } from "effect-compute"
import { Worker } from "node:worker_threads"
import { Dispatcher } from "../src/internal/main/dispatcher.ts"
import * as Thread from "../src/internal/main/thread.ts"
import type { WorkerSlot } from "../src/internal/main/workerSlot.ts"
import * as Inbox from "../src/internal/shared/inbox.ts"
import * as Protocol from "../src/internal/wire/protocol.ts"
import type { Settlement } from "../src/internal/wire/settlement.ts"
import { dispatcherOptions } from "./fixtures/dispatcherOptions.ts"
import { Add, Arrival } from "./fixtures/tasks.ts"

const entry = new URL("./fixtures/worker.ts", import.meta.url)

/** What a reader saw, in order: tasks as `name:id:payload`, batch bounds, and the posted batches it ran. */
const reading = (postedBatches: Array<string>) => {
  const seen: Array<string> = []
  const handler: Inbox.InboxHandler = {
    beginBatch: () => seen.push("["),
    entry: (id, name, kind, claim, payload, trace) =>
      seen.push(
        `${name}:${id}:${kind}:${claim}:${JSON.stringify(payload)}${trace === undefined ? "" : `@${trace[0]}`}`
      ),
    endBatch: (urgent) => seen.push(urgent ? "]!" : "]"),
    posted: () => {
      const batch = postedBatches.shift()
      if (batch === undefined) return false
      seen.push(batch)
      return true
    }
  }
  return { seen, handler }
}

const batch = (urgent: 0 | 1, ...entries: Array<[number, string, unknown, [string, string]?]>) => {
  const message = Protocol.runMessage(urgent)
  for (const [id, name, payload, trace] of entries) {
    Protocol.pushRunEntry(message, id, name, Protocol.Kind.Single, id % 7, payload, trace)
  }
  return message
}

describe("Inbox", () => {
  it("carries batches of numbers, strings, objects and traces, in order, naming each task name once", () => {
    const buffer = Inbox.allocate()
    const writer = new Inbox.InboxWriter(buffer, 16)
    const reader = new Inbox.InboxReader(buffer)
    assert.isFalse(reader.hasRecords())
    assert.isTrue(writer.writeBatch(batch(0, [1, "Noop", 1.5], [2, "Noop", -0], [3, "Parse", "héllo"])))
    assert.isTrue(writer.writeBatch(batch(1, [4, "Parse", { a: [1, 2] }, ["trace", "span"]], [5, "Noop", 7])))
    assert.isTrue(reader.hasRecords())
    const { handler, seen } = reading([])
    reader.read(handler)
    assert.deepStrictEqual(seen, [
      "[",
      "Noop:1:0:1:1.5",
      "Noop:2:0:2:0",
      "Parse:3:0:3:\"héllo\"",
      "]",
      "[",
      "Parse:4:0:4:{\"a\":[1,2]}@trace",
      "Noop:5:0:5:7",
      "]!"
    ])
    assert.isFalse(reader.hasRecords())
  })

  it("refuses what must be posted: shared memory, what V8 cannot serialize, a batch bigger than a record", () => {
    const buffer = Inbox.allocate()
    const writer = new Inbox.InboxWriter(buffer, 16)
    const reader = new Inbox.InboxReader(buffer)
    assert.isFalse(writer.writeBatch(batch(0, [1, "Sum", new Float64Array(new SharedArrayBuffer(64))])))
    assert.isFalse(writer.writeBatch(batch(0, [2, "Noop", 1], [3, "Fn", () => 1])))
    assert.isFalse(writer.writeBatch(batch(0, [4, "Big", "x".repeat(100_000)])))
    // Nothing refused was published, and a name first seen in a refused batch is still introduced when next used.
    assert.isFalse(reader.hasRecords())
    assert.isTrue(writer.writeBatch(batch(0, [5, "Fn", 2])))
    const { handler, seen } = reading([])
    reader.read(handler)
    assert.deepStrictEqual(seen, ["[", "Fn:5:0:5:2", "]"])
  })

  it("keeps a posted batch's place: reading stops there until it has arrived", () => {
    const buffer = Inbox.allocate()
    const writer = new Inbox.InboxWriter(buffer, 16)
    const reader = new Inbox.InboxReader(buffer)
    writer.writeBatch(batch(0, [1, "A", 1]))
    writer.writePosted()
    writer.writeBatch(batch(0, [2, "A", 2]))
    const arrived: Array<string> = []
    const { handler, seen } = reading(arrived)
    reader.read(handler)
    assert.deepStrictEqual(seen, ["[", "A:1:0:1:1", "]"])
    assert.isTrue(reader.hasRecords())
    arrived.push("posted")
    reader.read(handler)
    assert.deepStrictEqual(seen, ["[", "A:1:0:1:1", "]", "posted", "[", "A:2:0:2:2", "]"])
  })

  it("wraps around its end many times without losing or reordering a task, and refuses batches when full", () => {
    const buffer = Inbox.allocate()
    const writer = new Inbox.InboxWriter(buffer, 16)
    const reader = new Inbox.InboxReader(buffer)
    const payload = "p".repeat(3_000)
    let written = 0
    let read = 0
    let refusals = 0
    const handler: Inbox.InboxHandler = {
      beginBatch: () => {},
      entry: (id, _name, _kind, _claim, value) => {
        assert.strictEqual(id, read++)
        assert.strictEqual(value, payload)
      },
      endBatch: () => {},
      posted: () => true
    }
    // Batches of uneven size (1 to 5 tasks of ~3 KB), read in uneven bursts: the records land at every offset.
    for (let round = 0; round < 2_000; round++) {
      const size = 1 + (round % 5)
      const entries: Array<[number, string, unknown]> = []
      for (let i = 0; i < size; i++) entries.push([written + i, "Big", payload])
      if (writer.writeBatch(batch(0, ...entries))) written += size
      else refusals++
      if (round % 29 === 28) reader.read(handler)
    }
    reader.read(handler)
    assert.strictEqual(read, written)
    // ~18 MB through a 256 KB ring: it wrapped around some 70 times.
    assert.isAbove(written, 4_000)
    // The ring (256 KB) filled between reads, so some batches had to be refused.
    assert.isAbove(refusals, 0)
  })

  it("always has room for a posted batch's place, however full of batches", () => {
    const buffer = Inbox.allocate()
    const claimCells = 16
    const writer = new Inbox.InboxWriter(buffer, claimCells)
    const reader = new Inbox.InboxReader(buffer)
    let batches = 0
    while (writer.writeBatch(batch(0, [batches, "Fill", "f".repeat(1_000)]))) batches++
    for (let i = 0; i < claimCells; i++) writer.writePosted()
    const order: Array<string> = []
    const handler: Inbox.InboxHandler = {
      beginBatch: () => {},
      entry: (id) => order.push(`batch ${id}`),
      endBatch: () => {},
      posted: () => {
        order.push("posted")
        return true
      }
    }
    reader.read(handler)
    assert.strictEqual(order.length, batches + claimCells)
    assert.deepStrictEqual(order.slice(batches), Array.from({ length: claimCells }, () => "posted"))
  })
})

/** The kind of payload the `index`th task has, by groups of five: 0 copied, 1 moved, 2 shared memory. */
const kindOf = (index: number) => Math.floor(index / 5) % 3

describe("Inbox, on a real worker", () => {
  it.effect(
    "tasks start in the order they were sent, whether written in the inbox, moved or sharing memory (posted)",
    () =>
      Effect.gen(function*() {
        // Groups of five tasks of one kind, a turn of the event loop apart, so that each group goes out as a batch of
        // its own: copied payloads go through the inbox, moved buffers and views of shared memory are posted. Each
        // task keeps the one worker busy 200 µs, so batches of every kind wait there together; the start numbers
        // must still follow the submission order.
        const calls = Array.from({ length: 300 }, (_, index) => ({
          index,
          micros: 200,
          data: kindOf(index) === 2 ? ComputeParallel.shared(Float64Array, 4) : new Float64Array(4)
        }))
        const running = []
        for (const call of calls) {
          const options = kindOf(call.index) === 1 ? { transfer: [call.data.buffer] } : undefined
          running.push(yield* Effect.forkChild(ComputePool.execute(Arrival, call, options)))
          if (call.index % 5 === 4) yield* Effect.promise(() => new Promise((resolve) => setImmediate(resolve)))
        }
        const started = yield* Fiber.joinAll(running)
        for (let i = 1; i < started.length; i++) assert.isAbove(started[i]!, started[i - 1]!, `task ${i}`)
        // The shared views were shared (posted, not copied into the inbox); the copies and moved ones were not.
        for (const { data, index } of calls) {
          if (kindOf(index) === 2) assert.strictEqual(data[0], index)
          else if (kindOf(index) === 0) assert.strictEqual(data[0], 0)
          else assert.strictEqual(data.length, 0)
        }
      }).pipe(Effect.provide(ComputePool.layer({ entry, threads: 1, maxInFlightPerWorker: 64 })))
  )
})

describe("Inbox wake-ups, on a real worker driven by the dispatcher", () => {
  it.live("a claim of the hunger flag that comes after the worker read its batch still leaves it woken next time", () =>
    Effect.gen(function*() {
      const dispatcher = new Dispatcher(
        dispatcherOptions(1, { idleSpinMicros: 50 }),
        () => Thread.fromNodeWorker(new Worker(entry)),
        Thread.nodeClock
      )
      yield* Effect.addFinalizer(() => Effect.promise(() => dispatcher.close()))
      yield* Effect.promise(() => dispatcher.start())
      const run = (a: number) =>
        Effect.callback<Settlement>((resume) => {
          dispatcher.submit(Add, Protocol.Kind.Single, [a, 1], (settlement) => resume(Effect.succeed(settlement)))
        }).pipe(
          Effect.timeoutOrElse({
            duration: "10 seconds",
            orElse: () => Effect.die(new Error(`Add(${a}, 1) was not answered: the worker sleeps, not hungry`))
          })
        )
      assert.deepInclude(yield* run(1), { _tag: "Success" })
      const worker = (dispatcher as unknown as { workers: { all: Array<WorkerSlot> } }).workers.all[0]!
      // Idle: the worker has said so.
      while (!worker.region.hungry) yield* Effect.sleep("1 millis")
      // What the main thread does for a batch the worker has meanwhile read by itself, late (held up between its
      // write and its look at the flag): it claims the flag and sends Drain, which finds nothing to read.
      assert.isTrue(worker.region.claimHunger())
      worker.thread.postMessage([Protocol.Drain])
      yield* Effect.sleep("50 millis")
      // The next batch is written with the worker asleep: it must have said it is hungry again, or nothing wakes it.
      assert.deepInclude(yield* run(2), { _tag: "Success" })
    }).pipe(Effect.scoped))
})

describe("Inbox, full", () => {
  it("says when a posted batch's place cannot be kept: once the ring is full, even of placeholders", () => {
    const buffer = Inbox.allocate()
    const writer = new Inbox.InboxWriter(buffer, 16)
    while (writer.writeBatch(batch(0, [1, "Fill", "f".repeat(1_000)]))) {
      // filling the ring up to its reserve
    }
    let placed = 0
    while (writer.hasRoomForPosted()) {
      writer.writePosted()
      placed++
    }
    // The reserve held its 17 places, and what the batches left.
    assert.isAtLeast(placed, 17)
    assert.isFalse(writer.hasRoomForPosted())
  })
})
