/**
 * Builds what npm publishes: `dist/` with ESM JavaScript, `.d.ts` and their maps, from `src/` (tsconfig.build.json).
 *
 * The sources import each other as `./X.ts` (Node runs them as they are). TypeScript rewrites those specifiers to
 * `./X.js` in the JavaScript it emits but keeps them in declarations, where a consumer's compiler would then look for
 * `.ts` files that are not there; so the declarations get the same rewrite here.
 */
import { execFileSync } from "node:child_process"
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"

const packageRoot = import.meta.dirname
const dist = join(packageRoot, "dist")

// A module removed from src must not survive in dist from an earlier build.
rmSync(dist, { recursive: true, force: true })
execFileSync("tsc", ["-p", "tsconfig.build.json"], {
  cwd: packageRoot,
  stdio: "inherit",
  shell: process.platform === "win32"
})

// `from "./a.ts"`, `import("../b.ts")`: relative specifiers only, on code lines (doc comments keep their examples).
const relativeTs = /((?:from|import)\s*\(?\s*")(\.{1,2}\/[^"]+)\.ts(")/g
const isComment = (line: string) => /^\s*(\*|\/\*|\/\/)/.test(line)

let declarations = 0
const leftover: Array<string> = []
for (const file of readdirSync(dist, { recursive: true, encoding: "utf8" })) {
  if (!file.endsWith(".d.ts")) continue
  const path = join(dist, file)
  const lines = readFileSync(path, "utf8").split("\n")
  const rewritten = lines.map((line) => isComment(line) ? line : line.replace(relativeTs, "$1$2.js$3"))
  writeFileSync(path, rewritten.join("\n"))
  declarations++
  if (rewritten.some((line) => !isComment(line) && /(?:from|import)\s*\(?\s*["']\.{1,2}\/[^"']+\.ts["']/.test(line))) {
    leftover.push(file)
  }
}
if (leftover.length > 0) throw new Error(`declarations still import .ts files: ${leftover.join(", ")}`)
console.log(`effect-compute: built dist/ (${declarations} declaration files)`)
