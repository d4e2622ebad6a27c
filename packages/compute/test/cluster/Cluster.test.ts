/**
 * Three runner processes on 127.0.0.1 and a client (this process), sharing runner and shard state in a real
 * Postgres (embedded, or the one DATABASE_URL names): spread, ordered maps, interruption, a runner killed with
 * SIGKILL mid-run and restarted, persisted calls, hostile bytes on a runner's port, and shutdown.
 *
 * Runners leave traces of what they ran in a scratch folder (see the Hold task), so the assertions read what
 * happened on the runners, not what the client believes.
 */
import { afterAll, assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer } from "effect"
import { ComputeCluster, ComputeParallel, ComputePool } from "effect-compute"
import * as RpcSerialization from "effect/rpc/RpcSerialization"
import { randomBytes } from "node:crypto"
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { connect, createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { reasonOf } from "../helpers.ts"
import { fastFailover, layerClient } from "./fixtures/cluster.ts"
import { DatabaseService, layerDatabase } from "./fixtures/postgres.ts"
import { layerRunners, Runners } from "./fixtures/processes.ts"
import { Compute, Hold, Length, Square, WhereAmI } from "./fixtures/tasks.ts"

const threadsPerRunner = 2
const names = ["a", "b", "c"]

const Database = layerDatabase()
const Client = Layer.unwrap(Effect.map(
  Effect.service(DatabaseService),
  ({ url }) => layerClient({ tasks: Compute, url, threads: names.length * threadsPerRunner, overrides: fastFailover })
))
const TestCluster = Client.pipe(
  Layer.provideMerge(layerRunners(names, threadsPerRunner)),
  Layer.provideMerge(Database)
)

const scratch = mkdtempSync(join(tmpdir(), "ec-cluster-"))
const lines = (file: string): Array<string> =>
  existsSync(join(scratch, file)) ? readFileSync(join(scratch, file), "utf8").trim().split("\n") : []

/** Waits on real time (50 ms steps) until `check` holds, failing with `what` after `withinMs`. */
const waitFor = <E, R>(what: string, withinMs: number, check: Effect.Effect<boolean, E, R>) =>
  Effect.gen(function*() {
    const started = Date.now()
    while (!(yield* check)) {
      if (Date.now() - started > withinMs) return assert.fail(`${what}: not within ${withinMs} ms`)
      yield* Effect.sleep(50)
    }
    return Date.now() - started
  })

/** Which runners answered `count` calls (spread by the client's round-robin), by name. */
const spread = (count: number) =>
  Effect.map(
    Effect.forEach(Array.from({ length: count }, (_, i) => i), (i) => ComputePool.execute(WhereAmI, i), {
      concurrency: 32
    }),
    (answers) => {
      const byRunner: Record<string, number> = {}
      for (const answer of answers) byRunner[answer.runner] = (byRunner[answer.runner] ?? 0) + 1
      return byRunner
    }
  )

const hold = (id: string, ms: number) => ComputePool.execute(Hold, { dir: scratch, id, ms })

/** Bytes sent on a connection of their own to a runner's port, then the connection is closed. */
const sendRaw = (port: number, bytes: Uint8Array) =>
  Effect.promise(() =>
    new Promise<void>((resolve) => {
      const socket = connect({ host: "127.0.0.1", port })
      socket.on("error", () => resolve())
      socket.on("connect", () => {
        socket.write(bytes, () => setTimeout(() => socket.destroy(), 200))
      })
      socket.on("close", () => resolve())
    })
  )

const portIsFree = (port: number) =>
  Effect.promise(() =>
    new Promise<boolean>((resolve) => {
      const server = createServer()
      server.once("error", () => resolve(false))
      server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)))
    })
  )

const processIsGone = (pid: number) => {
  try {
    process.kill(pid, 0)
    return false
  } catch {
    return true
  }
}

describe("ComputeCluster: three runner processes and Postgres", { timeout: 120_000 }, () => {
  it.layer(TestCluster, { timeout: 90_000, excludeTestServices: true })((it) => {
    it.effect("spreads calls over all three runners", () =>
      Effect.gen(function*() {
        // Ready runners may still be taking their shards: wait until each answers, then count.
        yield* waitFor(
          "all three runners answer",
          30_000,
          Effect.map(spread(60), (seen) => Object.keys(seen).length === 3)
        )
        const byRunner = yield* spread(300)
        assert.deepStrictEqual(Object.keys(byRunner).toSorted(), names)
        // One entity per shard, equal weights: about 100 each; the hash ring is not exact.
        for (const name of names) assert.isAtLeast(byRunner[name]!, 50, JSON.stringify(byRunner))
      }))

    it.effect("maps 10,000 items in order", () =>
      Effect.gen(function*() {
        const items = Array.from({ length: 10_000 }, (_, i) => i)
        const squares = yield* ComputeParallel.map(items, Square)
        assert.deepStrictEqual(squares, items.map((i) => i * i))
      }))

    it.effect("an interrupted caller stops its task on the runner", () =>
      Effect.gen(function*() {
        const fiber = yield* Effect.forkChild(hold("interrupted", 60_000))
        yield* waitFor("the task started", 10_000, Effect.sync(() => lines("interrupted.started").length === 1))
        yield* Fiber.interrupt(fiber)
        yield* waitFor(
          "the runner saw the interruption",
          5_000,
          Effect.sync(() => existsSync(join(scratch, "interrupted.interrupted")))
        )
        assert.deepStrictEqual(
          readFileSync(join(scratch, "interrupted.interrupted"), "utf8"),
          lines("interrupted.started")[0]
        )
        assert.deepStrictEqual(lines("interrupted.runs"), [])
      }))

    it.effect("a runner killed mid-run: every call completes on the survivors, once to its caller; it comes back", () =>
      Effect.gen(function*() {
        const runners = yield* Runners
        const ids = Array.from({ length: 30 }, (_, i) => `kill-${i}`)
        const answers = new Map<string, number>()
        const calls = yield* Effect.forkChild(
          Effect.forEach(
            ids,
            (id) => Effect.tap(hold(id, 1_500), () => Effect.sync(() => answers.set(id, (answers.get(id) ?? 0) + 1))),
            { concurrency: "unbounded" }
          )
        )
        yield* waitFor(
          "a call started on b",
          10_000,
          Effect.sync(() => ids.some((id) => lines(`${id}.started`).includes("b")))
        )
        const killedAt = Date.now()
        yield* runners.kill("b")
        const results = yield* Fiber.join(calls)
        const recoveredMs = Date.now() - killedAt
        assert.strictEqual(results.length, ids.length, "every call answered")
        for (const id of ids) assert.strictEqual(answers.get(id), 1, `${id} answered once`)
        const rerun = ids.filter((id) => lines(`${id}.started`).length > 1)
        assert.isAbove(rerun.length, 0, "some calls were running on b and ran again")
        for (const id of rerun) {
          assert.strictEqual(lines(`${id}.started`)[0], "b")
          assert.include(["a", "c"], results[ids.indexOf(id)], `${id} answered by a survivor`)
        }
        // The bound: a dead runner's shard locks expire (4 s here), the survivors take them (1 s refresh), and the
        // calls are sent again and run (1.5 s).
        assert.isBelow(recoveredMs, 20_000, `recovered in ${recoveredMs} ms`)
        console.log(
          `cluster test: SIGKILL of b: ${rerun.length} calls re-run on the survivors, all answered ${recoveredMs} ms after the kill`
        )

        yield* runners.restart("b")
        const backMs = yield* waitFor(
          "b took shards again",
          20_000,
          Effect.map(spread(60), (byRunner) => (byRunner.b ?? 0) > 0)
        )
        console.log(`cluster test: b restarted and served calls again within ${backMs} ms`)
      }))

    it.effect("a persisted call whose runner died before answering runs once more and is answered once", () =>
      Effect.gen(function*() {
        const runners = yield* Runners
        const call = hold("persisted", 2_000).pipe(ComputeCluster.persisted("persisted-1"))
        const fiber = yield* Effect.forkChild(call)
        yield* waitFor("the persisted call started", 10_000, Effect.sync(() => lines("persisted.started").length === 1))
        const first = lines("persisted.started")[0]!
        yield* runners.kill(first)
        const answer = yield* Fiber.join(fiber)
        assert.notStrictEqual(answer, first)
        assert.deepStrictEqual(lines("persisted.started"), [first, answer], "run once more, by the shard's new owner")
        assert.deepStrictEqual(lines("persisted.runs"), [answer], "finished once")
        // Asked again with the same key: the stored reply, not a third run.
        assert.strictEqual(yield* call, answer)
        assert.deepStrictEqual(lines("persisted.started"), [first, answer])
        yield* runners.restart(first)
      }))

    it.effect("a runner survives hostile bytes on its port and keeps serving the client", () =>
      Effect.gen(function*() {
        const runners = yield* Runners
        const port = runners.port("a")
        const serialization = yield* Effect.provide(
          Effect.service(RpcSerialization.RpcSerialization),
          RpcSerialization.layerSchemaBinary()
        )
        const parser = serialization.makeUnsafe()
        const request = (tag: string, payload: Uint8Array) =>
          parser.encode({ _tag: "Request", id: "1", tag, payload, headers: [] }) as Uint8Array
        const valid = request("Ping", new Uint8Array(0))
        const inFlight = yield* Effect.forkChild(
          Effect.forEach(Array.from({ length: 12 }, (_, i) => `hostile-${i}`), (id) => hold(id, 1_000), {
            concurrency: "unbounded"
          })
        )
        yield* sendRaw(port, randomBytes(64 * 1024)) // garbage
        yield* sendRaw(port, valid.subarray(0, Math.floor(valid.length / 2))) // a truncated frame
        yield* sendRaw(port, request("NoSuchRpc", new Uint8Array([1, 2, 3]))) // an unknown message type
        yield* sendRaw(port, request("Envelope", randomBytes(256))) // a known one with a garbage payload
        yield* sendRaw(port, request("Envelope", new Uint8Array(17 * 1024 * 1024))) // past the 16 MiB frame limit
        assert.isFalse(processIsGone(runners.pid("a")), "runner a is still running")
        const byRunner = yield* spread(90)
        assert.deepStrictEqual(Object.keys(byRunner).toSorted(), names)
        assert.strictEqual((yield* Fiber.join(inFlight)).length, 12, "calls in flight meanwhile were answered")
        // The client's own oversized payload: refused before it is sent, with a typed error to that caller only.
        const reason = reasonOf(yield* Effect.exit(ComputePool.execute(Length, "z".repeat(17 * 1024 * 1024))))
        assert.strictEqual(reason._tag, "EncodingError")
        assert.strictEqual(yield* ComputePool.execute(Square, 7), 49)
      }))

    it.effect("closing a runner's and a client's scopes ends the process and frees the port", () =>
      Effect.gen(function*() {
        const runners = yield* Runners
        const { url } = yield* DatabaseService
        // A second client, in a scope of its own.
        yield* Effect.scoped(Effect.gen(function*() {
          const pool = yield* Layer.build(layerClient({ tasks: Compute, url, threads: 6, overrides: fastFailover }))
          assert.strictEqual(yield* ComputePool.execute(Square, 3).pipe(Effect.provideContext(pool)), 9)
        }))
        const port = runners.port("c")
        const pid = runners.pid("c")
        const stopped = yield* runners.stop("c", 15_000)
        console.log(`cluster test: runner c exited ${Math.round(stopped.ms)} ms after SIGTERM (code ${stopped.code})`)
        assert.isBelow(stopped.ms, 15_000)
        assert.isTrue(processIsGone(pid))
        assert.isTrue(yield* portIsFree(port), "c's port is free")
        // Its shards move to a and b; calls keep being answered.
        yield* waitFor(
          "a and b answer everything",
          20_000,
          Effect.map(spread(30), (byRunner) => byRunner.c === undefined)
        )
        yield* runners.restart("c")
      }))
  })
})

afterAll(() => rmSync(scratch, { recursive: true, force: true }))
