/**
 * The service's own tasks: the two embedding stages and batch inference. Imported by the main thread (to call them)
 * and by the worker entry (to serve them).
 */
import { Effect, Layer, Schema } from "effect"
import { ComputeParallel, ComputeTask } from "effect-compute"
import * as Model from "./Model.ts"
import * as Tokenizer from "./Tokenizer.ts"

const Vectors = Schema.Array(Schema.Array(Schema.Number))

/**
 * Embedding stage 1: each text's token ids (from the tokenizer) to a vector.
 */
export const EmbedTokens = ComputeTask.make("EmbedTokens", {
  payload: Schema.Array(Schema.Array(Schema.Number)),
  success: Vectors,
  handler: (texts) =>
    Model.Model.useSync((model) => texts.map((tokens) => Array.from(Model.embedTokens(model, tokens))))
})

/**
 * Embedding stage 2: each context string to a vector (character trigrams, no tokenizer needed).
 */
export const EmbedContext = ComputeTask.make("EmbedContext", {
  payload: Schema.Array(Schema.String),
  success: Vectors,
  handler: (contexts) =>
    Model.Model.useSync((model) => contexts.map((context) => Array.from(Model.embedContext(model, context))))
})

export const Prediction = Schema.Struct({ label: Schema.Literals(Model.labels), confidence: Schema.Number })

/**
 * Inference on one chunk of items: preprocess each, then run the network on the chunk as one matrix.
 */
export const InferChunk = ComputeTask.make("InferChunk", {
  payload: Schema.Array(Schema.String),
  success: Schema.Array(Prediction),
  handler: (items) => Model.Model.useSync((model) => Model.predict(model, items))
})

/** Items per `InferChunk`: enough rows that a chunk's matrix multiply outweighs its message. */
export const inferChunkSize = 8

/**
 * Batch inference with nested parallelism: this task runs on a worker and itself uses the pool, splitting its batch
 * into chunks that run as subtasks (on any worker, this one included) and merging their predictions in order.
 */
export const InferBatch = ComputeTask.make("InferBatch", {
  payload: Schema.Array(Schema.String),
  success: Schema.Array(Prediction),
  handler: (items) => {
    const chunks: Array<ReadonlyArray<string>> = []
    for (let i = 0; i < items.length; i += inferChunkSize) chunks.push(items.slice(i, i + inferChunkSize))
    return Effect.map(ComputeParallel.map(chunks, InferChunk, { chunkSize: 1 }), (predictions) => predictions.flat())
  }
})

/** Every task the service's workers serve: the tokenizer library's and the service's own. */
export const tasks = [...Tokenizer.tasks, EmbedTokens, EmbedContext, InferChunk, InferBatch] as const

/** The per-worker resources: the tokenizer's vocabulary and the model's weights, built once in each worker. */
export const workerLayer = Layer.mergeAll(Tokenizer.workerLayer, Model.layer)
