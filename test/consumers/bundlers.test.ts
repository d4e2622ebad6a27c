import { cpSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { assert, beforeAll, describe, inject, it } from "vitest"
import { assertOneEffect, consumer, install, lines, on, repoRoot, runOn, type Runtime, spawn } from "./harness.ts"

const expected = (how: string) => [
  `primes below 100000: 9592 (${how})`,
  "pool: 2 workers, 10 tasks succeeded"
]

const vite = ["node_modules/vite/bin/vite.js", "build"]
const webpack = ["node_modules/webpack/bin/webpack.js"]
const rollup = ["node_modules/rollup/dist/bin/rollup"]

/** Each bundler as the fixture's lock file installs it, run on Node 24, and where the fixture's config writes the app. */
const bundlers = [
  { name: "Vite", command: vite, out: "dist/vite", sharesChunk: true },
  { name: "webpack", command: webpack, out: "dist/webpack", sharesChunk: false },
  { name: "Rollup", command: [...rollup, "-c"], out: "dist/rollup", sharesChunk: true }
] as const

/**
 * Configs that import the fixture's own and take its fixes out again, one per output folder (written into the
 * consumer project by the test, so that the fixture holds only the recipes).
 */
const brokenConfigs = [
  {
    file: "broken-external.vite.config.ts",
    command: vite,
    source: `import config from "./vite.config.ts"
export default { ...config, ssr: {}, build: { ...config.build, outDir: "broken/vite-external" } }`
  },
  {
    file: "broken-assets.vite.config.ts",
    command: vite,
    source: `import config from "./vite.config.ts"
const { input } = config.build.rolldownOptions
export default { ...config, build: { ...config.build, outDir: "broken/vite-assets", rolldownOptions: { input } } }`
  },
  {
    file: "broken.webpack.config.js",
    command: webpack,
    source: `import config from "./webpack.config.js"
const [rule] = config.module.rules
const variant = (name, javascript, options) => ({
  ...config,
  name,
  output: { ...config.output, path: \`\${process.cwd()}/broken/webpack-\${name}\` },
  module: { parser: { javascript }, rules: [{ ...rule, options }] }
})
export default [
  variant("url", { importMeta: false }, rule.options),
  variant("import-meta", { url: false }, rule.options),
  variant("target", { url: false, importMeta: false }, {})
]`
  },
  {
    file: "broken.rollup.config.js",
    command: rollup,
    source: `import config from "./rollup.config.js"
export default {
  ...config,
  output: { ...config.output, dir: "broken/rollup-resolve" },
  plugins: config.plugins.filter((plugin) => plugin.name !== "node-resolve")
}`
  }
]

/** What each fix taken out does to the app run from its output alone: the error it dies with, or what it prints. */
const breakages = [
  { without: "Vite's ssr.noExternal", out: "vite-external", fails: "Cannot find package 'effect'" },
  { without: "Vite's chunkFileNames", out: "vite-assets", fails: "assets/worker.js" },
  { without: "webpack's url: false", out: "webpack-url", fails: "Cannot find module './worker.js'" },
  { without: "esbuild-loader's target", out: "webpack-target", fails: "Cannot read properties of undefined" },
  { without: "Rollup's nodeResolve", out: "rollup-resolve", fails: "Cannot find package 'effect'" }
] as const

/** Copies an output folder where there is no node_modules, beside a package.json that makes its .js files ESM. */
const deploy = (from: string, to: string) => {
  cpSync(from, to, { recursive: true })
  writeFileSync(join(to, "package.json"), JSON.stringify({ type: "module" }))
  return to
}

/** The chunks an output module imports (its import statements, not the JSDoc examples bundled with the code). */
const chunksImported = (file: string) =>
  new Set(
    Array.from(readFileSync(file, "utf8").matchAll(/^import\b.*from\s*["']\.\/(.+\.js)["']/gm), ([, chunk]) => chunk)
  )

describe("an app built by Vite, webpack and Rollup, its worker entry an entry point of its own", () => {
  let dir = ""
  let workDir = ""
  beforeAll(() => {
    workDir = inject("workDir")
    dir = consumer(workDir, "bundlers-app")
    // The lock file pins the bundlers and effect; this adds the packed effect-compute.
    install(dir, [inject("tarball")])
  })

  const deployedOf = (out: string) => join(workDir, `bundlers-app-broken-${out}`)

  it("installs one copy of effect", () => assertOneEffect(dir))

  it("runs from its TypeScript sources", () => {
    assert.deepStrictEqual(lines(runOn("node24", ["main.ts"], dir)), expected("sources"))
  })

  describe.each(bundlers)("built by $name", ({ command, name, out, sharesChunk }) => {
    let deployed = ""
    beforeAll(() => {
      runOn("node24", command, dir, 120_000)
      deployed = deploy(join(dir, out), join(workDir, `bundlers-app-${name}`))
    })

    it.each(["node24", "node22"] satisfies ReadonlyArray<Runtime>)("runs from its output alone on %s", (runtime) => {
      assert.deepStrictEqual(lines(runOn(runtime, ["main.js"], deployed)), expected("bundle"))
    })

    it(sharesChunk ? "puts what both entries share in a chunk both load" : "gives each entry its own copy", () => {
      const main = chunksImported(join(deployed, "main.js"))
      const shared = [...chunksImported(join(deployed, "worker.js"))].filter((chunk) => main.has(chunk))
      assert.strictEqual(shared.length > 0, sharesChunk, `chunks both entries import: ${shared.join(", ")}`)
      const files = readdirSync(deployed).filter((file) => file.endsWith(".js"))
      assert.includeMembers(files, ["main.js", "worker.js"])
      // Besides the entries, webpack writes only chunks loaded on demand (the pool's machinery, built with a pool):
      // neither entry imports one statically.
      if (!sharesChunk) assert.deepStrictEqual([...main], [], `main.js imports ${[...main].join(", ")}`)
    })
  })

  describe("without the fixes", () => {
    beforeAll(() => {
      for (const { command, file, source } of brokenConfigs) {
        writeFileSync(join(dir, file), `${source}\n`)
        runOn("node24", [...command, "--config", file], dir, 120_000)
      }
      for (const out of readdirSync(join(dir, "broken"))) deploy(join(dir, "broken", out), deployedOf(out))
    })

    it.each(breakages)("without $without the app fails: $fails", ({ fails, out }) => {
      const ended = spawn(...on("node24", ["main.js"]), { cwd: deployedOf(out) })
      assert.notStrictEqual(ended.status, 0, ended.stdout)
      assert.include(ended.stderr, fails)
    })

    // The worse failure: it works on the build machine only.
    it("without webpack's importMeta: false the bundle loads worker.ts from the build folder's sources", () => {
      assert.deepStrictEqual(
        lines(runOn("node24", ["main.js"], deployedOf("webpack-import-meta"))),
        expected("sources")
      )
    })
  })
})

describe("the bundling recipes page", () => {
  const fixture = join(import.meta.dirname, "fixtures/bundlers-app")

  it("shows each fixture file it names as the file is", () => {
    const page = readFileSync(join(repoRoot, "docs/src/content/docs/recipes/bundling.md"), "utf8")
    const blocks = Array.from(page.matchAll(/^```\w+ title="([^"]+)"\n([\s\S]*?)^```$/gm), ([, file, code]) => ({
      file,
      code
    }))
    const configs = ["vite.config.ts", "webpack.config.js", "rollup.config.js"]
    assert.includeMembers(blocks.map(({ file }) => file), [...configs, "compute.ts", "main.ts", "worker.ts"])
    for (const { code, file } of blocks) assert.strictEqual(code, readFileSync(join(fixture, file!), "utf8"), file)
  })
})
