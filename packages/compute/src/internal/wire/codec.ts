/**
 * Synchronous Schema encoding and decoding that reports failure as a message instead of throwing, and the
 * `EncodingError` a caller sees when a value could not cross.
 */
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import { ComputeError, EncodingError } from "../../ComputeError.ts"
import type { TaskSchema } from "../../ComputeTask.ts"
import * as Protocol from "./protocol.ts"

export type Coded = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: string }

/**
 * The error for a payload or result that could not be encoded, sent across threads or decoded; `cause` is what
 * failed (a DataCloneError, say), when there is one.
 */
export const encodingError = (
  task: { readonly name: string },
  direction: "payload" | "result",
  message: string,
  cause?: unknown
): ComputeError =>
  new ComputeError({
    reason: new EncodingError({ task: task.name, direction, message, ...(cause === undefined ? {} : { cause }) })
  })

type Parser = (u: unknown) => Result.Result<unknown, Schema.SchemaError>

/** Builds a schema's parser once and keeps it with the schema. */
const perSchema = (make: (schema: TaskSchema) => Parser) => {
  const parsers = new WeakMap<TaskSchema, Parser>()
  return (schema: TaskSchema): Parser => {
    let parser = parsers.get(schema)
    if (parser === undefined) {
      parser = make(schema)
      parsers.set(schema, parser)
    }
    return parser
  }
}

const encoderOf = perSchema((schema) => Schema.encodeUnknownResult(schema))
const decoderOf = perSchema((schema) => Schema.decodeUnknownResult(schema))

const fromResult = (result: Result.Result<unknown, Schema.SchemaError>): Coded =>
  Result.isSuccess(result) ? { ok: true, value: result.success } : { ok: false, error: result.failure.message }

/**
 * Schemas whose encoding is the identity and whose check is a `typeof` (plain `Schema.Number`, `String`, `Boolean`,
 * `Unknown`, ...): checked here directly, which is much cheaper per item than running the Schema parser. Anything
 * with a refinement, a transformation or structure takes the parser.
 */
const identityChecks: Record<string, ((u: unknown) => boolean) | undefined> = {
  Number: (u) => typeof u === "number",
  String: (u) => typeof u === "string",
  Boolean: (u) => typeof u === "boolean",
  BigInt: (u) => typeof u === "bigint",
  Undefined: (u) => u === undefined,
  Void: (u) => u === undefined,
  Null: (u) => u === null,
  Unknown: () => true,
  Any: () => true
}

const fastChecks = new WeakMap<TaskSchema, ((u: unknown) => boolean) | null>()

const fastCheckOf = (schema: TaskSchema): ((u: unknown) => boolean) | null => {
  let check = fastChecks.get(schema)
  if (check === undefined) {
    const ast = schema.ast as { readonly _tag: string; readonly checks?: unknown; readonly encoding?: unknown }
    check = ast.checks === undefined && ast.encoding === undefined ? identityChecks[ast._tag] ?? null : null
    fastChecks.set(schema, check)
  }
  return check
}

/** Prototypes structured clone keeps (or rebuilds): anything else would cross as a bare object. */
const cloneable = new Set<unknown>([
  Object.prototype,
  null,
  Array.prototype,
  Map.prototype,
  Set.prototype,
  Date.prototype,
  RegExp.prototype,
  ArrayBuffer.prototype,
  SharedArrayBuffer.prototype,
  Error.prototype
])

/**
 * For `Schema.Unknown` / `Schema.Any` payloads, which no schema encodes: finds a class instance that structured clone
 * would turn into a plain object, silently dropping its prototype and methods. Returns a description, or undefined.
 */
const lostPrototype = (root: unknown): string | undefined => {
  // Iterative, so a deeply nested value cannot overflow the stack here.
  const seen = new Set<object>()
  const pending: Array<unknown> = [root]
  try {
    while (pending.length > 0) {
      const value = pending.pop()
      if (typeof value !== "object" || value === null || seen.has(value)) continue
      seen.add(value)
      if (ArrayBuffer.isView(value) || value instanceof Error) continue
      const prototype = Object.getPrototypeOf(value)
      if (!cloneable.has(prototype)) {
        const name = (prototype?.constructor as { name?: string } | undefined)?.name ?? "an object"
        return `a ${name} instance would arrive as a plain object without its prototype and methods ` +
          `(give the task a Schema for it, such as a Schema.Class)`
      }
      if (value instanceof Map) { for (const [key, child] of value) pending.push(key, child) }
      else if (value instanceof Set) { for (const child of value) pending.push(child) }
      else for (const child of Object.values(value)) pending.push(child)
    }
  } catch (cause) {
    return `reading the payload threw: ${cause instanceof Error ? cause.message : String(cause)}`
  }
  return undefined
}

export const encode = (schema: TaskSchema, value: unknown): Coded => {
  const fast = fastCheckOf(schema)
  if (fast !== null && fast(value)) {
    const tag = (schema.ast as { readonly _tag: string })._tag
    if (tag === "Unknown" || tag === "Any") {
      const lost = lostPrototype(value)
      if (lost !== undefined) return { ok: false, error: lost }
    }
    return { ok: true, value }
  }
  try {
    return fromResult(encoderOf(schema)(value))
  } catch (cause) {
    return { ok: false, error: cause instanceof Error ? cause.message : String(cause) }
  }
}

export const decode = (schema: TaskSchema, value: unknown): Coded => {
  const fast = fastCheckOf(schema)
  if (fast !== null && fast(value)) return { ok: true, value }
  try {
    return fromResult(decoderOf(schema)(value))
  } catch (cause) {
    return { ok: false, error: cause instanceof Error ? cause.message : String(cause) }
  }
}

/** Encodes (or decodes) every item; the first failure names its index. */
export const encodeAll = (schema: TaskSchema, items: ReadonlyArray<unknown>): Coded => mapAll(encode, schema, items)
export const decodeAll = (schema: TaskSchema, items: ReadonlyArray<unknown>): Coded => mapAll(decode, schema, items)

/** Encodes a task's payload as it travels: one value, or each item of a chunk (`kind` as in a Run entry). */
export const encodePayload = (schema: TaskSchema, kind: Protocol.Kind, payload: unknown): Coded =>
  kind === Protocol.Kind.Chunk ? encodeAll(schema, payload as ReadonlyArray<unknown>) : encode(schema, payload)

/** Decodes a task's success as it arrives: one value, or one per item of a chunk (a failure is always one value). */
export const decodeSuccess = (schema: TaskSchema, kind: Protocol.Kind, value: unknown): Coded =>
  kind === Protocol.Kind.Chunk ? decodeAll(schema, value as ReadonlyArray<unknown>) : decode(schema, value)

const mapAll = (
  f: (schema: TaskSchema, value: unknown) => Coded,
  schema: TaskSchema,
  items: ReadonlyArray<unknown>
): Coded => {
  // Identity schemas: when every item passes, the items are their own encoding — no copy.
  const fast = fastCheckOf(schema)
  const tag = (schema.ast as { readonly _tag: string })._tag
  if (fast !== null && tag !== "Unknown" && tag !== "Any" && items.every(fast)) return { ok: true, value: items }
  const out: Array<unknown> = []
  for (let i = 0; i < items.length; i++) {
    const coded = f(schema, items[i])
    if (!coded.ok) return { ok: false, error: `item ${i}: ${coded.error}` }
    out.push(coded.value)
  }
  return { ok: true, value: out }
}
