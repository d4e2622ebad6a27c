import starlight from "@astrojs/starlight"
import { defineConfig } from "astro/config"
import { remarkInclude } from "./remark-include.mjs"

// The dev server does not serve a folder's index.html from public/, as a static host does: /api/ is TypeDoc's index.
const apiIndex = {
  name: "api-index",
  hooks: {
    "astro:server:setup": ({ server }) => {
      server.middlewares.use((request, _response, next) => {
        if (request.url === "/api/") request.url = "/api/index.html"
        next()
      })
    }
  }
}

export default defineConfig({
  // Built into the repo's git-ignored build/ folder, which lint and format already skip.
  outDir: "../build/site",
  markdown: { remarkPlugins: [remarkInclude] },
  integrations: [
    apiIndex,
    starlight({
      title: "effect-compute",
      description: "A compute pool for Effect on Node.js worker threads",
      sidebar: [
        { label: "Getting started", slug: "getting-started" },
        { label: "Concepts", items: [{ autogenerate: { directory: "concepts" } }] },
        { label: "Recipes", items: [{ autogenerate: { directory: "recipes" } }] },
        { label: "Design", items: [{ autogenerate: { directory: "design" } }] },
        { label: "Benchmarks", items: [{ autogenerate: { directory: "benchmarks" } }] },
        { label: "Configuration", slug: "configuration" },
        { label: "API reference", link: "/api/" }
      ]
    })
  ]
})
