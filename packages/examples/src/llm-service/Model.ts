/**
 * The model behind the embedding and inference endpoints: fixed, seeded random weights (a stand-in for trained ones)
 * and the arithmetic that uses them, on `Float32Array`s. The weights are a per-worker resource: `Model.layer` builds
 * them once in each worker (and again in a replacement worker), never per task.
 *
 * Every function here is deterministic: the same input gives the same numbers on any worker or inline.
 */
import { Context, Effect, Layer } from "effect"

/** Hashed n-gram buckets that feed each projection. */
export const buckets = 4096
/** Width of each embedding stage; the combined embedding has this width too. */
export const embeddingWidth = 64
/** Input width of the dense network (hashed character n-grams of one item). */
export const featureWidth = 256
export const hiddenWidth = 128
export const labels = ["billing", "technical", "account", "feedback"] as const
export type Label = (typeof labels)[number]

/** Mulberry32: a small seeded generator, so every worker builds the same weights. */
const seeded = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

/** A rows × cols matrix (row-major) with variance 1 / rows, so projections keep their scale. */
const randomMatrix = (rows: number, cols: number, seed: number): Float32Array => {
  const next = seeded(seed)
  const scale = Math.sqrt(3 / rows)
  const matrix = new Float32Array(rows * cols)
  for (let i = 0; i < matrix.length; i++) matrix[i] = (next() * 2 - 1) * scale
  return matrix
}

/** FNV-1a over a run of numbers (token ids or char codes), folded into `buckets`. */
const hashRun = (values: ArrayLike<number>, start: number, length: number, modulo: number): number => {
  let hash = 0x811c9dc5
  for (let i = start; i < start + length; i++) {
    hash ^= values[i]!
    hash = Math.imul(hash, 0x01000193)
  }
  return (hash >>> 0) % modulo
}

const normalize = (vector: Float32Array): Float32Array => {
  let sum = 0
  for (let i = 0; i < vector.length; i++) sum += vector[i]! * vector[i]!
  const norm = Math.sqrt(sum)
  if (norm > 0) { for (let i = 0; i < vector.length; i++) vector[i]! /= norm }
  return vector
}

/** Adds row `row` of `matrix` (width `width`) into `out`: a sparse one-hot row times a dense matrix. */
const addRow = (out: Float32Array, matrix: Float32Array, row: number, width: number) => {
  const offset = row * width
  for (let j = 0; j < width; j++) out[j]! += matrix[offset + j]!
}

const charCodes = (text: string): Uint16Array => {
  const codes = new Uint16Array(text.length)
  for (let i = 0; i < text.length; i++) codes[i] = text.charCodeAt(i) | 0x20
  return codes
}

/**
 * The weights, built once per worker.
 *
 * @category services
 */
export class Model extends Context.Service<Model, {
  readonly tokenProjection: Float32Array
  readonly contextProjection: Float32Array
  readonly hiddenWeights: Float32Array
  readonly hiddenBias: Float32Array
  readonly outputWeights: Float32Array
  readonly outputBias: Float32Array
}>()("examples/llm-service/Model") {}

/** Builds the weights (about 2 MB of `Float32Array`s, a few ms): the per-worker resource. */
export const layer: Layer.Layer<Model> = Layer.effect(
  Model,
  Effect.sync(() =>
    Model.of({
      tokenProjection: randomMatrix(buckets, embeddingWidth, 1),
      contextProjection: randomMatrix(buckets, embeddingWidth, 2),
      hiddenWeights: randomMatrix(featureWidth, hiddenWidth, 3),
      hiddenBias: randomMatrix(1, hiddenWidth, 4).map((x) => x * 0.1),
      // scaled up so the stand-in's predictions are not all near-uniform
      outputWeights: randomMatrix(hiddenWidth, labels.length, 5).map((x) => x * 6),
      outputBias: new Float32Array(labels.length)
    })
  )
)

/** Text stage: token unigrams and bigrams, hashed, projected and normalised. */
export const embedTokens = (model: Model["Service"], tokens: ReadonlyArray<number>): Float32Array => {
  const out = new Float32Array(embeddingWidth)
  for (let i = 0; i < tokens.length; i++) {
    addRow(out, model.tokenProjection, hashRun(tokens, i, 1, buckets), embeddingWidth)
    if (i + 1 < tokens.length) addRow(out, model.tokenProjection, hashRun(tokens, i, 2, buckets), embeddingWidth)
  }
  return normalize(out)
}

/** Context stage: character trigrams, hashed, projected and normalised. */
export const embedContext = (model: Model["Service"], text: string): Float32Array => {
  const out = new Float32Array(embeddingWidth)
  const codes = charCodes(text)
  for (let i = 0; i + 3 <= codes.length; i++) {
    addRow(out, model.contextProjection, hashRun(codes, i, 3, buckets), embeddingWidth)
  }
  return normalize(out)
}

/** The reference's `combine_embeddings`: a weighted sum of the two stages, normalised. */
export const combine = (text: ReadonlyArray<number>, context: ReadonlyArray<number>, contextWeight = 0.3) => {
  const out = new Float32Array(text.length)
  for (let i = 0; i < out.length; i++) out[i] = (1 - contextWeight) * text[i]! + contextWeight * (context[i] ?? 0)
  return Array.from(normalize(out))
}

/** Preprocessing: an item's character bigrams and trigrams hashed into `featureWidth` counts, normalised. */
export const features = (text: string, out: Float32Array, offset: number) => {
  const row = out.subarray(offset, offset + featureWidth)
  const codes = charCodes(text)
  for (let n = 2; n <= 3; n++) {
    for (let i = 0; i + n <= codes.length; i++) row[hashRun(codes, i, n, featureWidth)]! += 1
  }
  normalize(row)
}

/** `out[rows × cols] = relu?(input[rows × inner] · weights[inner × cols] + bias)`. */
const dense = (
  input: Float32Array,
  rows: number,
  inner: number,
  weights: Float32Array,
  bias: Float32Array,
  cols: number,
  relu: boolean
): Float32Array => {
  const out = new Float32Array(rows * cols)
  for (let r = 0; r < rows; r++) {
    const outRow = r * cols
    out.set(bias, outRow)
    for (let k = 0; k < inner; k++) {
      const x = input[r * inner + k]!
      if (x === 0) continue
      const weightRow = k * cols
      for (let c = 0; c < cols; c++) out[outRow + c]! += x * weights[weightRow + c]!
    }
    if (relu) { for (let c = 0; c < cols; c++) if (out[outRow + c]! < 0) out[outRow + c] = 0 }
  }
  return out
}

export interface Prediction {
  readonly label: Label
  readonly confidence: number
}

/** Preprocesses a chunk of items and runs the two-layer network on it as one matrix: one prediction per item. */
export const predict = (model: Model["Service"], items: ReadonlyArray<string>): Array<Prediction> => {
  const input = new Float32Array(items.length * featureWidth)
  items.forEach((item, i) => features(item, input, i * featureWidth))
  const hidden = dense(input, items.length, featureWidth, model.hiddenWeights, model.hiddenBias, hiddenWidth, true)
  const logits = dense(hidden, items.length, hiddenWidth, model.outputWeights, model.outputBias, labels.length, false)
  return items.map((_, i) => {
    const row = logits.subarray(i * labels.length, (i + 1) * labels.length)
    const max = Math.max(...row)
    let total = 0
    let best = 0
    for (let c = 0; c < row.length; c++) {
      total += Math.exp(row[c]! - max)
      if (row[c]! > row[best]!) best = c
    }
    return { label: labels[best]!, confidence: Math.round((1 / total) * 1e4) / 1e4 }
  })
}
