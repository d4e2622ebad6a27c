/**
 * The serializer's frame limit, checked before a frame is sent. A runner that receives a frame past its limit
 * answers the whole connection with a defect, and a volatile call that lost its connection is sent again — so an
 * oversized call would be retried for ever, taking its neighbours on the connection down each time. Refusing it at
 * the sender, with a typed error to that caller only, is the one place where that can be stopped.
 */
import * as SchemaBinary from "effect/encoding/SchemaBinary"
import * as Schema from "effect/Schema"

/** What the envelope around a payload can add: ids, tags, headers, trace ids, the entity address. */
export const envelopeHeadroom = 4_096

/** effect's SchemaBinary serializer's default `maxFrameSize`. */
export const defaultMaxFrameSize = 16 * 1024 * 1024

type Measure = (value: unknown) => number

const measures = new WeakMap<Schema.Top, Measure>()

/** The size of `value` in the cluster's binary encoding: what it takes inside a frame. Throws what encoding throws. */
export const encodedSize = (schema: Schema.Top, value: unknown): number => {
  let measure = measures.get(schema)
  if (measure === undefined) {
    const encode = Schema.encodeUnknownSync(SchemaBinary.toCodec(schema as Schema.Constraint) as any) as (
      value: unknown
    ) => Uint8Array
    measure = (value) => encode(value).byteLength
    measures.set(schema, measure)
  }
  return measure(value)
}

/** Whether a value of `bytes` bytes, plus its envelope, fits under `limit`. */
export const fits = (bytes: number, limit: number): boolean => bytes + envelopeHeadroom <= limit
