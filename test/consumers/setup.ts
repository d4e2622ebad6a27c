/**
 * Global setup of the consumer tests: packs effect-compute once, the way `npm publish` would (its prepack builds
 * dist/), and installs the other runtimes (Node 22, Bun, Deno) from their own lock file. Every consumer test then
 * installs that one tarball into a temporary project outside the repo.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { TestProject } from "vitest/node"
import { npm, repoRoot, runtimesDir } from "./harness.ts"

declare module "vitest" {
  export interface ProvidedContext {
    /** The packed effect-compute tarball. */
    readonly tarball: string
    /** The folder the consumer projects are created in, outside the repo. */
    readonly workDir: string
  }
}

export default function setup(project: TestProject) {
  const workDir = mkdtempSync(join(tmpdir(), "effect-compute-consumers-"))
  const packed = npm(["pack", "--json", "--pack-destination", workDir], { cwd: join(repoRoot, "packages/compute") })
  const [{ filename }] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf("["))) as [{ filename: string }]
  npm(["ci", "--prefer-offline", "--no-audit", "--no-fund"], { cwd: runtimesDir, timeoutMs: 300_000 })
  project.provide("tarball", join(workDir, filename))
  project.provide("workDir", workDir)
  return () => {
    if (process.env.KEEP_CONSUMERS === undefined) rmSync(workDir, { recursive: true, force: true })
    else console.log(`consumer projects kept in ${workDir}`)
  }
}
