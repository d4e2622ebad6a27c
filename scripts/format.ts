/**
 * The repo's formatter: dprint's own Wasm plugins (TypeScript, JSON) driven through `@dprint/formatter`, configured
 * by `dprint.json`. The dprint CLI would run the same plugins, but it installs a native binary per platform, and the
 * lock file cannot list the ones the registry here does not serve, so `npm ci` refused it.
 *
 * `node scripts/format.ts [paths...]` rewrites files in place (all of them, or those under the paths given); `--check`
 * only lists those that differ and exits 1.
 * Files: what git tracks or would track (so `.gitignore` applies), minus `excludes`, matched by the plugins' extensions.
 */
import { createFromBuffer, type Formatter } from "@dprint/formatter"
import { execFileSync } from "node:child_process"
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import { extname, matchesGlob, relative, resolve } from "node:path"

interface DprintConfig {
  readonly lineWidth?: number
  readonly indentWidth?: number
  readonly excludes?: ReadonlyArray<string>
  readonly plugins: ReadonlyArray<string>
  readonly [pluginKey: string]: unknown
}

const root = resolve(import.meta.dirname, "..")
const config = JSON.parse(readFileSync(resolve(root, "dprint.json"), "utf8")) as DprintConfig
const check = process.argv.includes("--check")
const only = process.argv.slice(2).filter((arg) => !arg.startsWith("--")).map((arg) => relative(root, resolve(arg)))

const global = {
  ...(config.lineWidth === undefined ? {} : { lineWidth: config.lineWidth }),
  ...(config.indentWidth === undefined ? {} : { indentWidth: config.indentWidth })
}

const plugins = config.plugins.map((path) => {
  const formatter = createFromBuffer(readFileSync(resolve(root, path)))
  const { configKey } = formatter.getPluginInfo()
  formatter.setConfig(global, (config[configKey] ?? {}) as Record<string, unknown>)
  const diagnostics = formatter.getConfigDiagnostics()
  if (diagnostics.length > 0) {
    throw new Error(
      `dprint.json "${configKey}": ${diagnostics.map((d) => `${d.propertyName}: ${d.message}`).join("; ")}`
    )
  }
  return { formatter, extensions: new Set(formatter.getFileMatchingInfo().fileExtensions.map((e) => `.${e}`)) }
})

const pluginFor = (file: string): Formatter | undefined =>
  plugins.find((plugin) => plugin.extensions.has(extname(file)))?.formatter

// A pattern names a file or a folder: "build" excludes everything under build/.
const excluded = (file: string) =>
  (config.excludes ?? []).some((pattern) => matchesGlob(file, pattern) || matchesGlob(file, `${pattern}/**`))

const files = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], {
  cwd: root,
  encoding: "utf8"
}).split("\0").filter((file) =>
  file !== "" && !excluded(file) && existsSync(resolve(root, file)) &&
  (only.length === 0 || only.some((path) => file === path || file.startsWith(`${path}/`)))
)

const differing: Array<string> = []
for (const file of files) {
  const formatter = pluginFor(file)
  if (formatter === undefined) continue
  const path = resolve(root, file)
  const text = readFileSync(path, "utf8")
  const formatted = formatter.formatText({ filePath: path, fileText: text })
  if (formatted === text) continue
  differing.push(file)
  if (!check) writeFileSync(path, formatted)
}

if (check && differing.length > 0) {
  console.error(`Not formatted (run \`npm run format\`):\n${differing.map((file) => `  ${file}`).join("\n")}`)
  process.exit(1)
}
console.log(
  `${check ? "checked" : "formatted"} ${files.filter((file) => pluginFor(file) !== undefined).length} files` +
    (check ? "" : `, ${differing.length} changed`)
)
