/**
 * The reference's Pattern 3, "Mixed Workload Service": an LLM-style service whose three parts share one pool —
 * tokenization (a parallel map, through the tokenizer library), embeddings (two stages run in parallel in a compute
 * scope, then combined) and batch inference (a task that itself forks subtasks on the pool).
 */
import { Context, Effect, Layer } from "effect"
import { type ComputeError, ComputePool, ComputeScope } from "effect-compute"
import * as Model from "./Model.ts"
import { EmbedContext, EmbedTokens, InferBatch } from "./tasks.ts"
import * as Tokenizer from "./Tokenizer.ts"

export interface EmbedInput {
  readonly text: string
  /** Extra context (a title, the conversation so far); embedded by its own stage and mixed in. */
  readonly context?: string | undefined
}

export class LlmService extends Context.Service<LlmService, {
  readonly tokenize: (
    texts: ReadonlyArray<string>
  ) => Effect.Effect<Array<ReadonlyArray<number>>, ComputeError.ComputeError>
  readonly embed: (inputs: ReadonlyArray<EmbedInput>) => Effect.Effect<Array<Array<number>>, ComputeError.ComputeError>
  readonly infer: (
    items: ReadonlyArray<string>
  ) => Effect.Effect<ReadonlyArray<Model.Prediction>, ComputeError.ComputeError>
}>()("examples/llm-service/LlmService") {}

type Vectors = ReadonlyArray<ReadonlyArray<number>>

export const layer: Layer.Layer<LlmService, never, Tokenizer.Tokenizer | ComputePool.ComputePool> = Layer.effect(
  LlmService,
  Effect.gen(function*() {
    const tokenizer = yield* Tokenizer.Tokenizer
    const pool = yield* ComputePool.ComputePool
    return LlmService.of({
      tokenize: tokenizer.tokenize,
      embed: (inputs) =>
        ComputeScope.scoped<Vectors, ComputeError.ComputeError>((scope) =>
          Effect.all([
            // stage 1: tokenize, then embed the tokens
            scope.spawn(
              Effect.flatMap(
                tokenizer.tokenize(inputs.map((input) => input.text)),
                (tokens) => pool.execute(EmbedTokens, tokens)
              )
            ),
            // stage 2, at the same time: embed the contexts
            scope.spawn(pool.execute(EmbedContext, inputs.map((input) => input.context ?? "")))
          ])
        ).pipe(Effect.map(([text, context]) => text!.map((vector, i) => Model.combine(vector, context![i]!)))),
      infer: (items) => pool.execute(InferBatch, items)
    })
  })
)
