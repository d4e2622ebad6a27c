/**
 * A remark plugin for the site's Markdown pages, so that the code they show is the repo's and cannot drift:
 *
 * - a ```ts block whose meta names `file=<path from the repo root>` gets that file's text (the runnable programs in
 *   packages/examples, which `tsc -b` and their smoke tests already check), titled with its path;
 * - a ```timeline block becomes one picture per docs/public/timeline/*.svg (drawn by `npm run bench:timeline`), or
 *   a line saying how to draw them when there are none yet;
 * - the `no-check` marker of a fragment (scripts/check-doc-examples.ts skips those) is dropped from the meta.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { resolve } from "node:path"

const root = resolve(import.meta.dirname, "..")
const timelineFolder = resolve(import.meta.dirname, "public/timeline")

const timeline = () => {
  const pictures = existsSync(timelineFolder)
    ? readdirSync(timelineFolder).filter((name) => name.endsWith(".svg")).toSorted()
    : []
  if (pictures.length === 0) {
    return [{
      type: "paragraph",
      children: [
        { type: "text", value: "(No timeline drawn yet: " },
        { type: "inlineCode", value: "npm run bench:timeline" },
        { type: "text", value: " draws them into " },
        { type: "inlineCode", value: "docs/public/timeline" },
        { type: "text", value: ".)" }
      ]
    }]
  }
  return pictures.map((name) => ({
    type: "paragraph",
    children: [{ type: "image", url: `/timeline/${name}`, alt: `worker timeline: ${name.replace(/\.svg$/, "")}` }]
  }))
}

const rewrite = (parent) => {
  if (!Array.isArray(parent.children)) return
  parent.children = parent.children.flatMap((node) => {
    if (node.type !== "code") {
      rewrite(node)
      return [node]
    }
    if (node.lang === "timeline") return timeline()
    const meta = node.meta ?? ""
    const file = /(?:^|\s)file=(\S+)/.exec(meta)?.[1]
    if (file !== undefined) {
      const path = resolve(root, file)
      if (!path.startsWith(root + "/") || !existsSync(path)) throw new Error(`remark-include: no file ${file}`)
      node.value = readFileSync(path, "utf8").trimEnd()
      node.meta = `title="${file}"`
    } else {
      node.meta = meta.replace(/(?:^|\s)no-check(?=\s|$)/, "").trim() || null
    }
    return [node]
  })
}

export const remarkInclude = () => (tree) => rewrite(tree)
