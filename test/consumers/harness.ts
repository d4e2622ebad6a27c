/**
 * What the consumer tests share: running commands as a user outside the repo would (no repo tools on PATH, none of
 * the npm variables or the `@effect-compute/source` condition this repo's scripts run with), the runtimes, and
 * consumer projects copied from `fixtures/` into the temporary folder.
 */
import { spawnSync } from "node:child_process"
import { cpSync, mkdirSync } from "node:fs"
import { delimiter, join, resolve } from "node:path"
import { assert } from "vitest"

export const repoRoot = resolve(import.meta.dirname, "../..")
export const runtimesDir = join(import.meta.dirname, "runtimes")
const fixtures = join(import.meta.dirname, "fixtures")

/** The runtimes a consumer runs on. Node 24 is the one running these tests (the repo's own). */
export const runtimes = {
  node24: [process.execPath],
  node22: [join(runtimesDir, "node_modules/node22/bin/node")],
  bun: [join(runtimesDir, "node_modules/.bin/bun")],
  deno: [join(runtimesDir, "node_modules/.bin/deno"), "run", "--allow-all"]
} as const

export type Runtime = keyof typeof runtimes

// npm passes its configuration and the package being run to child processes; a consumer must see none of it.
const repoOnly =
  /^(npm_(config_(local_prefix|node_options|allow_scripts|user_agent|npm_version)|package_|lifecycle_|command$|execpath$|node_execpath$)|NODE_OPTIONS$|NODE$|INIT_CWD$)/

const userEnv = (): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = {}
  for (const [name, value] of Object.entries(process.env)) if (!repoOnly.test(name)) env[name] = value
  env.PATH = (process.env.PATH ?? "").split(delimiter)
    .filter((dir) => !dir.endsWith(join("node_modules", ".bin")) && !dir.includes("node-gyp-bin"))
    .join(delimiter)
  env.NO_COLOR = "1"
  return env
}

export interface Result {
  readonly stdout: string
  readonly stderr: string
}

/** How a command ended. */
export interface Ended extends Result {
  readonly status: number | null
  readonly signal: NodeJS.Signals | null
}

/** Runs a command to completion, killed after `timeoutMs` (nothing here may hang), and says how it ended. */
export const spawn = (
  command: string,
  args: ReadonlyArray<string>,
  options: { readonly cwd: string; readonly timeoutMs?: number }
): Ended => {
  const result = spawnSync(command, args, {
    cwd: options.cwd,
    env: userEnv(),
    encoding: "utf8",
    timeout: options.timeoutMs ?? 60_000,
    killSignal: "SIGKILL",
    maxBuffer: 64 * 1024 * 1024
  })
  if (result.error !== undefined && result.signal === null) throw result.error
  return { stdout: result.stdout, stderr: result.stderr, status: result.status, signal: result.signal }
}

/** Runs a command to completion and asserts it succeeded within `timeoutMs`. */
export const run = (
  command: string,
  args: ReadonlyArray<string>,
  options: { readonly cwd: string; readonly timeoutMs?: number }
): Result => {
  const timeoutMs = options.timeoutMs ?? 60_000
  const ended = spawn(command, args, { ...options, timeoutMs })
  const shown = `${[command, ...args].join(" ")} (in ${options.cwd})`
  assert.notStrictEqual(ended.signal, "SIGKILL", `${shown} did not finish within ${timeoutMs} ms:\n${ended.stderr}`)
  assert.strictEqual(
    ended.status,
    0,
    `${shown} failed (${ended.signal ?? ended.status}):\n${ended.stdout}\n${ended.stderr}`
  )
  return ended
}

export const npm = (args: ReadonlyArray<string>, options: { readonly cwd: string; readonly timeoutMs?: number }) =>
  run("npm", args, { timeoutMs: 180_000, ...options })

/** The command line that runs `args` on a runtime. */
export const on = (runtime: Runtime, args: ReadonlyArray<string>): [string, Array<string>] => {
  const [command, ...prefix] = runtimes[runtime]
  return [command, [...prefix, ...args]]
}

/** Runs a program on a runtime and asserts it succeeded; returns its standard output. */
export const runOn = (runtime: Runtime, args: ReadonlyArray<string>, cwd: string, timeoutMs = 60_000): string =>
  run(...on(runtime, args), { cwd, timeoutMs }).stdout

/** The repo's own tools, called by path as a consumer would call its own copy. */
export const tool = (name: "tsc" | "esbuild") => join(repoRoot, "node_modules/.bin", name)

/** A consumer project: a copy of `fixtures/<name>` in the temporary folder. */
export const consumer = (workDir: string, name: string): string => {
  const dir = join(workDir, name)
  mkdirSync(dir, { recursive: true })
  cpSync(join(fixtures, name), dir, { recursive: true })
  return dir
}

/** `npm install` from the shared cache, the way the README tells a user to. */
export const install = (dir: string, specs: ReadonlyArray<string>, dev = false) =>
  npm(["install", "--prefer-offline", "--no-audit", "--no-fund", ...(dev ? ["--save-dev"] : []), ...specs], {
    cwd: dir
  })

/** Asserts the project has exactly one `effect` and that npm finds the tree valid (peers satisfied). */
export const assertOneEffect = (dir: string) => {
  const { stdout } = npm(["ls", "effect", "--all", "--parseable"], { cwd: dir })
  const copies = new Set(stdout.split("\n").filter((line) => line.trim() !== ""))
  assert.strictEqual(copies.size, 1, `expected one effect in ${dir}, npm ls found:\n${stdout}`)
}

/** The lines a program printed, for exact comparison. */
export const lines = (output: string) => output.trim().split("\n").map((line) => line.trimEnd())
