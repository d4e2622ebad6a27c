import { execFileSync } from "node:child_process"
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { assert, describe, inject, it } from "vitest"
import { repoRoot, run } from "./harness.ts"

const packageDir = join(repoRoot, "packages/compute")
const manifest = JSON.parse(readFileSync(join(packageDir, "package.json"), "utf8")) as {
  readonly exports: Record<string, string | Record<string, string>>
}
/** The public modules: every module at the top of src/, each re-exported by index.ts. */
const publicModules = readdirSync(join(packageDir, "src"))
  .filter((file) => file.endsWith(".ts") && file !== "index.ts")
  .map((file) => file.slice(0, -3))

/** What the exports map says for one module: its sources inside this repo, dist/ everywhere else. */
const entry = (module: string) => ({
  "@effect-compute/source": `./src/${module}.ts`,
  types: `./dist/${module}.d.ts`,
  default: `./dist/${module}.js`
})

const bin = (name: string) => join(repoRoot, "node_modules/.bin", name)

describe("the packed tarball", () => {
  it("holds dist/, src/ and the README, and no tests, fixtures, build script or tsconfig", () => {
    const files = execFileSync("tar", ["-tzf", inject("tarball")], { encoding: "utf8" }).trim().split("\n")
      .map((file) => file.replace(/^package\//, ""))
    const outside = files.filter((file) =>
      !/^(dist|src)\/|^(package\.json|README\.md|CHANGELOG\.md|LICENSE)$/.test(file)
    )
    assert.deepStrictEqual(outside, [])
    for (const module of ["index", ...publicModules]) {
      for (const file of [`dist/${module}.js`, `dist/${module}.d.ts`, `dist/${module}.js.map`, `src/${module}.ts`]) {
        assert.include(files, file)
      }
    }
  })

  it("exports each public module with types and JavaScript, and nothing internal", () => {
    assert.deepStrictEqual(manifest.exports, {
      ".": entry("index"),
      ...Object.fromEntries(publicModules.map((module) => [`./${module}`, entry(module)])),
      "./package.json": "./package.json"
    })
    const index = readFileSync(join(packageDir, "src/index.ts"), "utf8")
    for (const module of publicModules) assert.include(index, `export * as ${module} from "./${module}.ts"`)
  })

  it("passes publint", () => {
    const { stdout } = run(bin("publint"), ["--strict", inject("tarball")], { cwd: repoRoot })
    assert.include(stdout, "All good!")
  })

  it("passes @arethetypeswrong/cli for ESM consumers (node16 from ESM, bundler)", () => {
    // --profile esm-only: the package is ESM only, as effect is, so require() from CommonJS is not a target.
    run(bin("attw"), ["--profile", "esm-only", "--format", "table-flipped", "--no-color", inject("tarball")], {
      cwd: repoRoot
    })
  })
})
