/**
 * The RPC group that Effect's own RPC worker pool ("effect-rpc") serves in the benchmark: the same ops as the other
 * pools' workers. Kept apart from tasks.ts so its worker loads effect/rpc only, not effect-compute.
 */
import { Schema, SchemaGetter } from "effect"
import * as Rpc from "effect/rpc/Rpc"
import * as RpcGroup from "effect/rpc/RpcGroup"

/** Echoes `n`: the dispatch benchmarks' no-op. */
export const Noop = Rpc.make("Noop", { payload: Schema.Number, success: Schema.Number })

/** Spins `n` iterations of the benchmark workload. */
export const Spin = Rpc.make("Spin", { payload: Schema.Number, success: Schema.Number })

/**
 * A Float64Array handed to `postMessage` as it is, for structured clone to copy. The worker protocol encodes payloads
 * with their JSON codec, which `instanceOf` lacks ("Expected JSON value"); this one passes the array through, as
 * effect/workers/Transferable's schemas do, without putting its buffer on the transfer list.
 */
const ClonedFloat64Array = Schema.instanceOf(Float64Array).annotate({
  toCodecJson: () =>
    Schema.link<Float64Array>()(Schema.Any, {
      decode: SchemaGetter.passthrough(),
      encode: SchemaGetter.passthrough()
    })
})

/** The first plus the last element of a Float64Array, cloned to the worker: the payload-copy row's call. */
export const ArrayEnds = Rpc.make("ArrayEnds", { payload: ClonedFloat64Array, success: Schema.Number })

export const BenchRpcs = RpcGroup.make(Noop, Spin, ArrayEnds)
