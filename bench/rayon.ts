/**
 * Rayon beside effect-compute: bench/rayon is a small Rust program that runs the bench's fork-join, map, subtask and
 * round-trip rows on the same workload, each as a sequential loop (`rayon-seq`) and on a Rayon pool (`rayon`). It is
 * built offline from Debian's packaged crates; where cargo or the crates are missing, the columns are skipped.
 *
 *   cd bench/rayon && cargo run --release -- --threads 16 --reps 5   (the same rows alone, at any thread count)
 */
import { execFileSync, spawnSync } from "node:child_process"
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"

/** The bench columns Rayon's runs fill. */
export type RayonColumn = "rayon" | "rayon-seq" | "rayon-spawn"

const project = fileURLToPath(new URL("./rayon/", import.meta.url))
const binary = fileURLToPath(new URL("./rayon/target/release/rayon-bench", import.meta.url))
/** Where Debian's librust-*-dev packages put crate sources (bench/rayon/.cargo/config.toml builds from there). */
const registry = "/usr/share/cargo/registry"

export const howToGetRayon =
  "apt-get update && apt-get install -y cargo librust-rayon-dev (Debian's cargo and Rayon's crates; the build is offline)"

/** Why Rayon's columns cannot run on this machine, or undefined when cargo and Debian's rayon crates are at hand. */
export const rayonMissing = (): string | undefined => {
  const cargo = spawnSync("cargo", ["--version"], { encoding: "utf8" })
  if (cargo.error !== undefined || cargo.status !== 0) return `cargo is not installed: ${howToGetRayon}`
  const crates = existsSync(registry) ? readdirSync(registry) : []
  if (!crates.some((name) => name.startsWith("rayon-1."))) {
    return `Debian's rayon crates are not in ${registry}: ${howToGetRayon}`
  }
  return undefined
}

/** What built the program, for the report. */
export interface RayonBuild {
  readonly rayon: string
  readonly cargo: string
  readonly rustc: string
}

/** Builds bench/rayon (release, offline; a no-op when up to date). Throws with cargo's output if the build fails. */
export const buildRayon = (): RayonBuild => {
  const build = spawnSync("cargo", ["build", "--release", "--quiet"], { cwd: project, encoding: "utf8" })
  if (build.error !== undefined || build.status !== 0) {
    throw new Error(`bench/rayon: cargo build --release failed\n${build.stderr}${build.error?.message ?? ""}`)
  }
  const version = (tool: string) => execFileSync(tool, ["--version"], { cwd: project, encoding: "utf8" }).trim()
  const lock = readFileSync(`${project}/Cargo.lock`, "utf8")
  return {
    rayon: /name = "rayon"\nversion = "([^"]+)"/.exec(lock)?.[1] ?? "unknown",
    cargo: version("cargo"),
    rustc: version("rustc")
  }
}

/** One row's medians from one run of the program: the pool's, the sequential loop's, the subtask row's spawn. */
export interface RayonSample {
  readonly pool: number
  readonly sequential?: number
  readonly spawn?: number
}

/**
 * One run of `bench` (a name of bench/benchmarks.ts) in a fresh process: `warmups` runs, then `reps` measured ones
 * of the sequential loop and the pool, alternating. The sizes follow bench/benchmarks.ts (`--quick` for its small
 * ones); the spin rate is the JavaScript calibration, so both sides do the same work per item.
 */
export const runRayon = (
  bench: string,
  options: {
    readonly threads: number
    readonly reps: number
    readonly warmups: number
    readonly iterationsPerUs: number
    readonly quick: boolean
  }
): RayonSample => {
  const output = execFileSync(binary, [
    "--bench",
    bench,
    "--threads",
    String(options.threads),
    "--reps",
    String(options.reps),
    "--warmups",
    String(options.warmups),
    "--iterations-per-us",
    String(options.iterationsPerUs),
    ...(options.quick ? ["--quick"] : [])
  ], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] })
  const report = JSON.parse(output) as { rows: Array<{ bench: string } & RayonSample> }
  const row = report.rows.find((r) => r.bench === bench)
  if (row === undefined) throw new Error(`bench/rayon printed no row ${bench}: ${output}`)
  return {
    pool: row.pool,
    ...(row.sequential === undefined ? {} : { sequential: row.sequential }),
    ...(row.spawn === undefined ? {} : { spawn: row.spawn })
  }
}
