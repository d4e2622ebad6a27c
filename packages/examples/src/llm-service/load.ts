/**
 * The built-in load generator of the demo: `connections` closed-loop clients, each cycling through `/tokenize`,
 * `/embed` and `/infer` with pre-built bodies, plus a prober that calls `GET /health` every few milliseconds. It
 * records every latency, counts non-2xx answers, and samples the process's event-loop delay
 * (`monitorEventLoopDelay`) — the same process as the server, so that delay is the service's own.
 *
 * Plain Promises over `node:http` with keep-alive: the generator is the measuring stick, not the thing measured.
 */
import { Agent, request } from "node:http"
import { monitorEventLoopDelay } from "node:perf_hooks"

export interface Endpoint {
  readonly name: string
  readonly method: "GET" | "POST"
  readonly path: string
  readonly bodies: ReadonlyArray<string>
}

export interface Summary {
  readonly requests: number
  readonly errors: number
  readonly perSecond: number
  /** milliseconds */
  readonly p50: number
  readonly p99: number
  readonly max: number
}

export interface LoadResult {
  readonly seconds: number
  readonly endpoints: ReadonlyArray<{ readonly name: string; readonly summary: Summary }>
  readonly health: Summary
  /** The event loop's delay over the run, in milliseconds. */
  readonly eventLoopDelay: { readonly p50: number; readonly p99: number; readonly max: number }
}

export interface Progress {
  readonly elapsedSeconds: number
  readonly requests: number
  readonly errors: number
  readonly healthP99: number
}

export interface LoadOptions {
  readonly port: number
  readonly seconds: number
  readonly connections: number
  /** Pause between two `/health` probes, in ms. Default 10. */
  readonly healthIntervalMs?: number | undefined
  readonly onProgress?: ((progress: Progress) => void) | undefined
}

const percentile = (sorted: ReadonlyArray<number>, p: number) =>
  sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!

class Recorder {
  latencies: Array<number> = []
  errors = 0
  summary(seconds: number): Summary {
    const list = this.latencies.toSorted((a, b) => a - b)
    return {
      requests: list.length,
      errors: this.errors,
      perSecond: list.length / seconds,
      p50: percentile(list, 0.5),
      p99: percentile(list, 0.99),
      max: list.at(-1) ?? 0
    }
  }
}

const send = (agent: Agent, port: number, method: string, path: string, body: string | undefined) =>
  new Promise<number>((resolve, reject) => {
    const outgoing = request(
      {
        host: "127.0.0.1",
        port,
        method,
        path,
        agent,
        headers: body === undefined
          ? {}
          : { "content-type": "application/json", "content-length": Buffer.byteLength(body) }
      },
      (response) => {
        response.resume()
        response.on("end", () => resolve(response.statusCode ?? 0))
        response.on("error", reject)
      }
    )
    outgoing.on("error", reject)
    outgoing.end(body)
  })

const timedSend = async (agent: Agent, port: number, endpoint: Endpoint, body: string | undefined, into: Recorder) => {
  const start = performance.now()
  try {
    const status = await send(agent, port, endpoint.method, endpoint.path, body)
    if (status < 200 || status >= 300) into.errors++
  } catch {
    into.errors++
    return
  }
  into.latencies.push(performance.now() - start)
}

const health: Endpoint = { name: "GET /health", method: "GET", path: "/health", bodies: [] }

/** Runs the load for `seconds` and returns what it measured. */
export const run = async (endpoints: ReadonlyArray<Endpoint>, options: LoadOptions): Promise<LoadResult> => {
  const loadAgent = new Agent({ keepAlive: true, maxSockets: options.connections })
  // Its own socket: a probe never queues behind load requests on the client side.
  const healthAgent = new Agent({ keepAlive: true, maxSockets: 1 })
  const recorders = endpoints.map(() => new Recorder())
  const healthRecorder = new Recorder()
  const delay = monitorEventLoopDelay({ resolution: 1 })
  const started = performance.now()
  const deadline = started + options.seconds * 1_000
  const interval = options.healthIntervalMs ?? 10

  const client = async (index: number) => {
    for (let round = index; performance.now() < deadline; round++) {
      const which = round % endpoints.length
      const endpoint = endpoints[which]!
      const body = endpoint.bodies[Math.floor(round / endpoints.length) % endpoint.bodies.length]
      await timedSend(loadAgent, options.port, endpoint, body, recorders[which]!)
    }
  }
  const prober = async () => {
    while (performance.now() < deadline) {
      await timedSend(healthAgent, options.port, health, undefined, healthRecorder)
      await new Promise((resolve) => setTimeout(resolve, interval))
    }
  }
  const progress = setInterval(() => {
    const recent = healthRecorder.latencies.slice(-200).toSorted((a, b) => a - b)
    options.onProgress?.({
      elapsedSeconds: (performance.now() - started) / 1_000,
      requests: recorders.reduce((sum, recorder) => sum + recorder.latencies.length, 0),
      errors: recorders.reduce((sum, recorder) => sum + recorder.errors, 0),
      healthP99: percentile(recent, 0.99)
    })
  }, 1_000)

  delay.enable()
  try {
    await Promise.all([...Array.from({ length: options.connections }, (_, i) => client(i)), prober()])
  } finally {
    delay.disable()
    clearInterval(progress)
    loadAgent.destroy()
    healthAgent.destroy()
  }
  const seconds = (performance.now() - started) / 1_000
  return {
    seconds,
    endpoints: endpoints.map((endpoint, i) => ({ name: endpoint.name, summary: recorders[i]!.summary(seconds) })),
    health: healthRecorder.summary(seconds),
    eventLoopDelay: {
      p50: delay.percentile(50) / 1e6,
      p99: delay.percentile(99) / 1e6,
      max: delay.max / 1e6
    }
  }
}

/** Seeded pseudo-text: words made of common syllables, so the tokenizer sees many distinct words. */
export const textGenerator = (seed: number) => {
  const syllables = ["ka", "lo", "mi", "ne", "ru", "ta", "shi", "po", "ve", "dra", "ex", "in", "com", "pute", "ter"]
  const more = ["ly", "ing", "tion", "al", "er", "st", "ph", "qu", "on", "an", "re", "de", "un", "bo", "ze"]
  const all = [...syllables, ...more]
  let state = seed >>> 0
  const next = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    return state / 4294967296
  }
  const word = () => {
    let out = ""
    const length = 1 + Math.floor(next() * 4)
    for (let i = 0; i < length; i++) out += all[Math.floor(next() * all.length)]
    return out
  }
  return (characters: number) => {
    let text = ""
    while (text.length < characters) text += (text.length === 0 ? "" : next() < 0.1 ? ". " : " ") + word()
    return text.slice(0, characters)
  }
}

/** The demo's traffic: what each endpoint is sent. */
export const demoEndpoints = (seed = 1): ReadonlyArray<Endpoint> => {
  const text = textGenerator(seed)
  const variants = 32
  const bodies = (make: () => unknown) => Array.from({ length: variants }, () => JSON.stringify(make()))
  return [
    {
      name: "POST /tokenize",
      method: "POST",
      path: "/tokenize",
      bodies: bodies(() => ({ texts: Array.from({ length: 16 }, () => text(400)) }))
    },
    {
      name: "POST /embed",
      method: "POST",
      path: "/embed",
      bodies: bodies(() => ({ inputs: Array.from({ length: 8 }, () => ({ text: text(400), context: text(200) })) }))
    },
    {
      name: "POST /infer",
      method: "POST",
      path: "/infer",
      bodies: bodies(() => ({ items: Array.from({ length: 64 }, () => text(200)) }))
    }
  ]
}
