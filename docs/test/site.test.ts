/**
 * The docs site in a real browser: builds it (`npm run docs`), serves build/site on a loopback port, and drives
 * Debian's Chromium (through puppeteer-core: Puppeteer's own browser download cannot work offline) through every page
 * the site links to, the TypeDoc reference included. Each page must render with no console error, no failed request
 * and no image that does not load; every internal link must reach a page and every `#anchor` an element of it; the
 * search must find "broadcast" and "interrupt"; the benchmark chart and the worker timelines must load.
 *
 * Chromium: `apt-get update && apt-get install -y chromium` (as root), or CHROMIUM=/path/to/chrome. Without it the
 * tests are skipped and say so: never passed.
 */
import { execFileSync } from "node:child_process"
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { extname, join, normalize, resolve } from "node:path"
import { type Browser, launch, type Page } from "puppeteer-core"
import { afterAll, assert, beforeAll, describe, it } from "vitest"

const docs = resolve(import.meta.dirname, "..")
const site = resolve(docs, "../build/site")
const timelines = resolve(docs, "public/timeline")

// CHROMIUM, when set, is the only binary tried.
const chromium =
  (process.env["CHROMIUM"] ? [process.env["CHROMIUM"]] : ["/usr/bin/chromium", "/usr/bin/chromium-browser"])
    .find((path) => existsSync(path))
const install = "Chromium not found: apt-get update && apt-get install -y chromium (as root), or set CHROMIUM=/path"

const types: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".css": "text/css",
  ".js": "text/javascript",
  ".mjs": "text/javascript",
  ".json": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
  ".wasm": "application/wasm"
}

/** build/site as a static host would serve it: `/x/` is `/x/index.html`, anything missing is a 404. */
const serve = (): Promise<Server> =>
  new Promise((ready) => {
    const server = createServer((request, response) => {
      const path = decodeURIComponent(new URL(request.url ?? "/", "http://localhost").pathname)
      let file = normalize(join(site, path))
      if (file.startsWith(site) && existsSync(file) && statSync(file).isDirectory()) file = join(file, "index.html")
      if (!file.startsWith(site) || !existsSync(file)) {
        response.writeHead(404, { "content-type": types[".html"] })
        response.end(existsSync(join(site, "404.html")) ? readFileSync(join(site, "404.html")) : "not found")
        return
      }
      response.writeHead(200, { "content-type": types[extname(file)] ?? "application/octet-stream" })
      response.end(readFileSync(file))
    })
    server.listen(0, "127.0.0.1", () => ready(server))
  })

interface Visit {
  readonly errors: Array<string>
  readonly links: Array<string>
  readonly ids: Array<string>
  readonly images: Array<{ readonly src: string; readonly loaded: boolean }>
}

/** Loads a page and reports what it saw: console errors, failed requests, its links, its ids, its images. */
const visit = async (browser: Browser, url: string): Promise<Visit> => {
  const page = await browser.newPage()
  const errors: Array<string> = []
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(`console: ${message.text()}`)
  })
  page.on("pageerror", (error) => errors.push(`page error: ${String(error)}`))
  page.on("requestfailed", (request) => errors.push(`request failed: ${request.url()} ${request.failure()?.errorText}`))
  page.on("response", (response) => {
    if (response.status() >= 400) errors.push(`HTTP ${response.status()}: ${response.url()}`)
  })
  try {
    await page.goto(url, { waitUntil: "load" })
    // Pictures below the fold are lazy: load them all now, so that one that cannot load shows up.
    await page.evaluate(() =>
      Promise.all(Array.from(document.images, (image) => {
        image.loading = "eager"
        return image.complete ? undefined : new Promise((settled) => {
          image.addEventListener("load", settled)
          image.addEventListener("error", settled)
        })
      }))
    )
    const seen = await page.evaluate(() => ({
      links: Array.from(document.querySelectorAll("a[href]"), (a) => (a as HTMLAnchorElement).href),
      ids: [
        ...Array.from(document.querySelectorAll("[id]"), (element) => element.id),
        ...Array.from(document.querySelectorAll("a[name]"), (element) => element.getAttribute("name") ?? "")
      ],
      images: Array.from(document.images, (image) => ({
        src: image.currentSrc || image.src,
        loaded: image.complete && image.naturalWidth > 0
      }))
    }))
    return { errors, ...seen }
  } finally {
    await page.close()
  }
}

/**
 * The environment without what Vitest adds to it (NODE_ENV=test, and Vite's MODE, DEV, PROD...): Astro's prerender
 * reads them, and would render a development site, whose search box says "only available in production builds".
 */
const buildEnv = () => {
  const env: Record<string, string | undefined> = { ...process.env, ASTRO_TELEMETRY_DISABLED: "1" }
  for (const name of Object.keys(env)) {
    if (/^(NODE_ENV|MODE|DEV|PROD|SSR|BASE_URL|TEST|VITEST.*)$/.test(name)) delete env[name]
  }
  return env
}

/** Opens the site's search box, types a query, and returns the links of the results. */
const search = async (page: Page, query: string): Promise<Array<string>> => {
  await page.waitForSelector("button[data-open-modal]:not([disabled])")
  await page.click("button[data-open-modal]")
  const input = await page.waitForSelector("dialog[open] input", { visible: true })
  await input!.click({ count: 3 })
  await input!.type(query)
  await page.waitForFunction(
    () => document.querySelectorAll("dialog[open] a[href*='/']").length > 0,
    { timeout: 20_000 }
  )
  const found = await page.$$eval(
    "dialog[open] a[href*='/']",
    (links) => links.map((a) => (a as HTMLAnchorElement).href)
  )
  await page.keyboard.press("Escape")
  return found
}

const pathOf = (url: URL) => url.pathname.replace(/index\.html$/, "")

describe.skipIf(chromium === undefined)("the docs site in Chromium", () => {
  let server: Server
  let browser: Browser
  let origin = ""
  /** every page reached, by path (without its hash), with what it showed */
  const pages = new Map<string, Visit>()

  beforeAll(async () => {
    execFileSync("npm", ["run", "docs"], { cwd: docs, stdio: "pipe", env: buildEnv() })
    server = await serve()
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    browser = await launch({
      executablePath: chromium!,
      // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
      args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
    })
    // Every page the site links to, from the home page and the API reference's index, three tabs at a time.
    const queue = ["/", "/api/"]
    const queued = new Set(queue)
    const crawl = async () => {
      for (let path = queue.shift(); path !== undefined; path = queue.shift()) {
        const seen = await visit(browser, origin + path)
        pages.set(path, seen)
        for (const link of seen.links) {
          const url = new URL(link)
          const target = pathOf(url)
          if (url.origin !== origin || queued.has(target)) continue
          if (target.endsWith("/") || target.endsWith(".html")) {
            queued.add(target)
            queue.push(target)
          }
        }
      }
    }
    // A tab that finds the queue empty stops while the others may still add pages: rounds until none is left.
    while (queue.length > 0) await Promise.all([crawl(), crawl(), crawl()])
  })

  afterAll(async () => {
    await browser?.close()
    server?.close()
  })

  it("reaches every page of the guide and of the API reference", () => {
    const paths = [...pages.keys()]
    for (
      const expected of ["/getting-started/", "/concepts/tasks/", "/recipes/testing/", "/design/scheduler/", "/api/"]
    ) {
      assert.include(paths.map((path) => path.replace(/index\.html$/, "")), expected)
    }
    assert.isAbove(paths.filter((path) => path.startsWith("/api/")).length, 20, "the API reference's pages")
  })

  it("renders every page with no console error, failed request or broken image", () => {
    const problems = [...pages].flatMap(([path, seen]) => [
      ...seen.errors.map((error) => `${path}: ${error}`),
      ...seen.images.filter((image) => !image.loaded).map((image) => `${path}: image did not load: ${image.src}`)
    ])
    assert.deepStrictEqual(problems, [])
  })

  it("resolves every internal link and anchor", () => {
    const broken: Array<string> = []
    for (const [path, seen] of pages) {
      for (const link of seen.links) {
        const url = new URL(link)
        if (url.origin !== origin) continue
        const target = pages.get(pathOf(url))
        if (target === undefined) {
          // a link to a file (a picture, the JSON of a run): it must be served
          if (!(pathOf(url).endsWith("/") || pathOf(url).endsWith(".html"))) continue
          broken.push(`${path} -> ${url.pathname}: no such page`)
        } else if (url.hash.length > 1 && !target.ids.includes(decodeURIComponent(url.hash.slice(1)))) {
          broken.push(`${path} -> ${url.pathname}${url.hash}: no such anchor`)
        }
      }
    }
    assert.deepStrictEqual(broken, [])
  })

  it("serves every file a page links to", async () => {
    const files = new Set<string>()
    for (const seen of pages.values()) {
      for (const link of seen.links) {
        const url = new URL(link)
        const path = pathOf(url)
        if (url.origin === origin && !path.endsWith("/") && !path.endsWith(".html")) files.add(url.pathname)
      }
    }
    const missing: Array<string> = []
    for (const file of files) if ((await fetch(origin + file)).status !== 200) missing.push(file)
    assert.deepStrictEqual(missing, [])
  })

  it("shows the benchmark chart and the worker timelines", () => {
    const chart = pages.get("/benchmarks/")?.images.find((image) => image.src.includes("2-core-idle-spin"))
    assert.isDefined(chart, "the benchmarks page shows the chart")
    assert.isTrue(chart!.loaded, "the chart loads")
    const drawn = existsSync(timelines) ? readdirSync(timelines).filter((name) => name.endsWith(".svg")) : []
    const shown = pages.get("/design/scheduler/")?.images.filter((image) => image.src.includes("/timeline/")) ?? []
    assert.deepStrictEqual(shown.map((image) => image.src.split("/").pop()).toSorted(), drawn.toSorted())
    assert.isTrue(shown.every((image) => image.loaded), "every timeline loads")
  })

  it("finds 'broadcast' and 'interrupt' with the search", async () => {
    const page = await browser.newPage()
    try {
      await page.goto(`${origin}/getting-started/`, { waitUntil: "load" })
      const broadcast = await search(page, "broadcast")
      assert.isTrue(broadcast.some((href) => href.includes("/concepts/long-running/")), broadcast.join(", "))
      await page.goto(`${origin}/getting-started/`, { waitUntil: "load" })
      const interrupt = await search(page, "interrupt")
      assert.isTrue(interrupt.some((href) => href.includes("/concepts/interruption/")), interrupt.join(", "))
    } finally {
      await page.close()
    }
  })
})

// Without Chromium the suite above is skipped; this skipped test says why and how to install it.
if (chromium === undefined) {
  console.warn(`docs/test/site.test.ts: skipped. ${install}`)
  it.skip(install, () => {})
}
