/**
 * Type-checks every ```ts example in the JSDoc of packages/compute/src, the way Effect's docgen checks its own, and
 * every ```ts block of README.md, CONTRIBUTING.md, the site's pages (docs/src/content/docs) and the API reference's
 * own (docs/index.md, docs/example-tasks.md): each example becomes a module of its own in a scratch folder under
 * build/ (git-ignored; inside the repo so `effect`, `effect-compute` and the rest resolve from the root node_modules),
 * compiled by the repo's `tsc` with the repo's `tsconfig.base.json`. An example's `import ... from "./tasks.ts"` gets
 * docs/examples/tasks.ts, the example tasks. Failures are reported at the line of the JSDoc or Markdown they come from.
 *
 * In Markdown, the blocks of one section (from a `## ` heading to the next) share a folder, and a block whose first
 * line is `// <name>.ts`, or whose meta has Starlight's `title="<name>.ts"`, is that module, so a section can show a
 * program as its files (the quick start's tasks.ts, worker.ts and main.ts import each other; a section that writes its
 * own tasks.ts gets it instead of the example tasks). Two markers in a fence's meta skip a block: `no-check`, for the
 * few fragments that are not programs (a signature, a shape), and `file=<path>`, a block the site fills with that file
 * of the repo (remark-include.mjs), which `tsc -b` already checks where it lives.
 *
 * `npm run check:doc-examples`; `--keep` leaves the scratch folder. `npm test` runs it as a step of its own right after
 * the typecheck, not as a Vitest test: it is a compile check like `tsc -b`, over in seconds, so it fails before the
 * long tests start, and its file:line report reads best on the terminal as it is.
 *
 * One relaxation: an example binds values to show what they are (`const Pool = ComputePool.layer(...)`), so an unused
 * *top-level* declaration is not reported; unused imports and unused locals inside an example still are.
 */
import { execFileSync } from "node:child_process"
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync
} from "node:fs"
import { createRequire } from "node:module"
import { dirname, join, relative, resolve } from "node:path"

const root = resolve(import.meta.dirname, "..")
const sources = resolve(root, "packages/compute/src")
const pages = resolve(root, "docs/src/content/docs")
// README, CONTRIBUTING, and the API reference's own pages (TypeDoc's readme and project documents)
const markdownFiles = ["README.md", "CONTRIBUTING.md", "docs/index.md", "docs/example-tasks.md"].map((path) =>
  resolve(root, path)
)
const exampleTasks = resolve(root, "docs/examples/tasks.ts")
const keep = process.argv.includes("--keep")

interface Example {
  /** the JSDoc's file, relative to the repo */
  readonly file: string
  /** the source line of the example's first line of code, 1-based */
  readonly line: number
  readonly code: string
  /** per line of code, how many characters of the comment (` * `) stand before it in the source */
  readonly indents: ReadonlyArray<number>
  /** the module it becomes in the scratch folder (Markdown: in a folder per section of its file) */
  readonly module: string
}

const sourceFiles = (folder: string, extension: RegExp): Array<string> =>
  readdirSync(folder, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sourceFiles(join(folder, entry.name), extension)
      : extension.test(entry.name)
      ? [join(folder, entry.name)]
      : []
  ).toSorted()

const lineAt = (text: string, offset: number) => text.slice(0, offset).split("\n").length

const extract = (path: string): Array<Example> => {
  const text = readFileSync(path, "utf8")
  const file = relative(root, path)
  const examples: Array<Example> = []
  for (const comment of text.matchAll(/\/\*\*[\s\S]*?\*\//g)) {
    const first = lineAt(text, comment.index)
    const raw = comment[0].split("\n")
    const lines = raw.map((line) => line.replace(/^\s*\*? ?/, ""))
    let start: number | undefined
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!.trimEnd()
      if (start === undefined && /^```(ts|typescript)$/.test(line)) start = i + 1
      else if (start !== undefined && line === "```") {
        const line = first + start
        examples.push({
          file,
          line,
          code: lines.slice(start, i).join("\n") + "\n",
          indents: raw.slice(start, i).map((line, j) => line.length - lines[start! + j]!.length),
          module: `${
            file.replace(/^packages\/compute\/src\//, "").replace(/\.ts$/, "").replaceAll("/", "_")
          }_${line}.ts`
        })
        start = undefined
      }
    }
    if (start !== undefined) throw new Error(`${file}:${first + start - 1}: an example's \`\`\`ts fence is not closed`)
  }
  return examples
}

const extractMarkdown = (path: string): Array<Example> => {
  const file = relative(root, path)
  const folder = file.replace(/\.mdx?$/, "").replaceAll(/[^A-Za-z0-9]+/g, "_")
  const lines = readFileSync(path, "utf8").split("\n")
  const examples: Array<Example> = []
  let section = 0
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.startsWith("## ")) section++
    const fence = /^(\s*)```(ts|typescript)(?:\s+(.*))?$/.exec(lines[i]!)
    if (fence === null) continue
    const [, indent = "", , meta = ""] = fence
    const end = lines.findIndex((line, j) => j > i && line.trimEnd() === `${indent}\`\`\``)
    if (end < 0) throw new Error(`${file}:${i + 1}: a \`\`\`ts fence is not closed`)
    const body = lines.slice(i + 1, end)
    const skip = /(^|\s)(no-check|file=\S+)(\s|$)/.test(meta)
    i = end
    if (skip) continue
    const line = i - body.length + 1
    const name = /(?:^|\s)title="([\w.-]+\.ts)"/.exec(meta)?.[1] ??
      /^\/\/ ([\w.-]+\.ts)\b/.exec(body[0]?.slice(indent.length) ?? "")?.[1]
    const module = `${folder}_${section}/${name ?? `block_${line}.ts`}`
    if (examples.some((example) => example.module === module)) {
      throw new Error(`${file}:${line}: a second block named ${name} (each module of a section is written once)`)
    }
    examples.push({
      file,
      line,
      code: body.map((text) => text.slice(indent.length)).join("\n") + "\n",
      indents: body.map(() => indent.length),
      module
    })
  }
  return examples
}

const examples = [
  ...sourceFiles(sources, /\.ts$/).flatMap(extract),
  ...[...markdownFiles.filter((path) => existsSync(path)), ...sourceFiles(pages, /\.mdx?$/)].flatMap(extractMarkdown)
]

mkdirSync(resolve(root, "build"), { recursive: true })
const scratch = mkdtempSync(resolve(root, "build/doc-examples-"))
for (const example of examples) {
  mkdirSync(dirname(join(scratch, example.module)), { recursive: true })
  writeFileSync(join(scratch, example.module), example.code)
}
// Every folder of examples imports "./tasks.ts": the example tasks, unless its page writes its own.
for (const folder of new Set([".", ...examples.map((example) => dirname(example.module))])) {
  if (!existsSync(join(scratch, folder, "tasks.ts"))) copyFileSync(exampleTasks, join(scratch, folder, "tasks.ts"))
}
writeFileSync(
  join(scratch, "tsconfig.json"),
  JSON.stringify({
    extends: relative(scratch, resolve(root, "tsconfig.base.json")),
    compilerOptions: { composite: false, declaration: false, emitDeclarationOnly: false, noEmit: true, rootDir: "." },
    include: ["*.ts", "*/*.ts"]
  })
)

const tsc = join(dirname(createRequire(import.meta.url).resolve("typescript/package.json")), "bin/tsc")
const started = performance.now()
let output = ""
try {
  execFileSync(process.execPath, [tsc, "-p", "tsconfig.json", "--pretty", "false"], {
    cwd: scratch,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"]
  })
} catch (error) {
  const failed = error as { stdout?: string; stderr?: string; status?: number }
  output = `${failed.stdout ?? ""}${failed.stderr ?? ""}`
  if (output.trim() === "") throw error
}
const seconds = ((performance.now() - started) / 1000).toFixed(1)

const byModule = new Map(examples.map((example) => [example.module, example]))
// tsc --pretty false: one diagnostic per "file(line,col): error TSnnnn: message" line, continuation lines indented.
const diagnostics: Array<string> = []
for (const entry of output.split(/\n(?=\S)/)) {
  if (entry.trim() === "") continue
  const match = /^(.+?)\((\d+),(\d+)\): (error TS(\d+): [\s\S]*)$/.exec(entry.trim())
  if (match === null) {
    diagnostics.push(entry.trim())
    continue
  }
  const [, path, lineText, column, message, code] = match
  const line = Number(lineText)
  const name = relative(scratch, resolve(scratch, path!))
  const example = byModule.get(name)
  if (example !== undefined) {
    const source = example.code.split("\n")[line - 1] ?? ""
    if (code === "6133" && /^(export )?(const|let|class|function|interface|type) /.test(source)) continue
    const sourceColumn = Number(column) + (example.indents[line - 1] ?? 0)
    diagnostics.push(`${example.file}:${example.line + line - 1}:${sourceColumn}: ${message}`)
  } else if (name === "tasks.ts" || (name.endsWith("/tasks.ts") && !byModule.has(name))) {
    diagnostics.push(`${relative(root, exampleTasks)}:${line}:${column}: ${message}`)
  } else {
    diagnostics.push(entry.trim())
  }
}

if (!keep) rmSync(scratch, { recursive: true, force: true })
diagnostics.sort((a, b) => a.localeCompare(b, "en", { numeric: true }))

const files = new Set(examples.map((example) => example.file)).size
if (diagnostics.length > 0) {
  console.error(diagnostics.join("\n"))
  console.error(
    `\n${diagnostics.length} error(s) in the doc examples (${examples.length} examples in ${files} files, ` +
      `checked in ${seconds} s)${keep ? `; the extracted modules are in ${relative(root, scratch)}` : ""}`
  )
  process.exit(1)
}
console.log(
  `doc examples: ${examples.length} examples in ${files} files (JSDoc and Markdown) type-check (${seconds} s)`
)
