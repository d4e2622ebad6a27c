/**
 * The RPC group that Effect's own RPC worker pool ("effect-rpc") serves in the benchmark: the same two ops as the
 * other pools' workers. Kept apart from tasks.ts so its worker loads effect/rpc only, not effect-compute.
 */
import { Schema } from "effect"
import * as Rpc from "effect/rpc/Rpc"
import * as RpcGroup from "effect/rpc/RpcGroup"

/** Echoes `n`: the dispatch benchmarks' no-op. */
export const Noop = Rpc.make("Noop", { payload: Schema.Number, success: Schema.Number })

/** Spins `n` iterations of the benchmark workload. */
export const Spin = Rpc.make("Spin", { payload: Schema.Number, success: Schema.Number })

export const BenchRpcs = RpcGroup.make(Noop, Spin)
