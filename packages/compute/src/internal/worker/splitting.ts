/**
 * Adaptive splitting of a map called inside a worker, as Rayon's parallel iterators split (its `LengthSplitter`): the
 * map starts as one piece, a subtask in that worker's own queue. A piece that runs splits in two — both halves
 * subtasks in the queue of the worker running it, so an idle peer can steal the older one — while its split budget
 * lasts (the thread count at the start, halved at each split), when it was stolen (run elsewhere than where it was
 * queued: the budget is the thread count again), or while it is too big for a steal slot; never into halves smaller
 * than `minChunkSize`. Otherwise it runs its items as one chunk. The map encodes the items once: a split slices the
 * encoded array, and results come back up still encoded, concatenated in order, and decoded once by the map.
 */
import type * as Effect from "effect/Effect"
import { ComputeError } from "../../ComputeError.ts"
import type * as ComputeTask from "../../ComputeTask.ts"
import { payloadsPerSlot } from "../shared/stealSlots.ts"
import * as Codec from "../wire/codec.ts"
import * as Protocol from "../wire/protocol.ts"
import { poolError, type Settlement } from "../wire/settlement.ts"
import { type Parent, Subtask, type SubtaskQueue } from "./subtaskQueue.ts"

/** Where a worker's pool (`nestedPool.ts`) offers the split map to `ComputeParallel.map`; absent on the main thread. */
export const splitMapKey: unique symbol = Symbol.for("effect-compute/splitMap")

export type SplitMap = <T extends ComputeTask.Any>(
  task: T,
  items: ReadonlyArray<ComputeTask.Payload<T>>,
  minChunkSize: number
) => Effect.Effect<Array<ComputeTask.Success<T>>, ComputeTask.Failure<T> | ComputeError>

/** The pool's split map: there when the pool is a worker's, where idle peers steal. */
export const splitMapOf = (pool: object): SplitMap | undefined =>
  (pool as { readonly [splitMapKey]?: SplitMap })[splitMapKey]

/** A piece's payload (`Kind.Split`): its encoded items, and what its splitting rule reads. */
export type Piece = readonly [
  items: ReadonlyArray<unknown>,
  minChunkSize: number,
  /** the worker that queued it: it was stolen when it runs on another */
  origin: number,
  /** splits left before it runs whole, unless stolen (Rayon's `Splitter::splits`) */
  splits: number,
  /** the most items a piece may hold to fit in a steal slot */
  stealable: number
]

/** A piece's run, as the worker runtime has it. */
export interface PieceRun extends Parent {
  /** set while it waits on its halves: stops them */
  interrupt: (() => void) | undefined
  readonly done: (outcome: Protocol.Outcome, value: unknown) => void
}

/** Items whose serialised size estimates how many fit in a steal slot. */
const sampleSize = 32

export class Pieces {
  private readonly workerId: number
  private readonly threads: number
  private readonly queue: SubtaskQueue
  constructor(workerId: number, threads: number, queue: SubtaskQueue) {
    this.workerId = workerId
    this.threads = threads
    this.queue = queue
  }

  /** The whole map as one piece, its items encoded once here. */
  root(task: ComputeTask.Any, items: ReadonlyArray<unknown>, minChunkSize: number): Codec.Coded {
    const encoded = Codec.encodeAll(task.payload, items)
    if (!encoded.ok) return encoded
    const values = encoded.value as ReadonlyArray<unknown>
    const sample: Array<unknown> = []
    const step = Math.max(1, Math.floor(values.length / sampleSize))
    for (let i = 0; i < values.length && sample.length < sampleSize; i += step) sample.push(values[i])
    const piece: Piece = [values, minChunkSize, this.workerId, this.threads, payloadsPerSlot(sample)]
    return { ok: true, value: piece }
  }

  /** Splits the piece if its rule says so, its halves queued here; false when it is to run whole, as one chunk. */
  split(task: ComputeTask.Any, piece: Piece, run: PieceRun): boolean {
    const [items, minChunkSize, origin, splits, stealable] = piece
    const half = Math.floor(items.length / 2)
    const stolen = origin !== this.workerId
    if (half < minChunkSize || !(stolen || splits > 0 || items.length > stealable)) return false
    // Rayon's rule: a stolen piece is where thieves are, so it gets the whole budget again.
    const budget = stolen ? Math.max(this.threads, splits >> 1) : splits >> 1
    this.join(
      task,
      run,
      [items.slice(0, half), minChunkSize, this.workerId, budget, stealable],
      [items.slice(half), minChunkSize, this.workerId, budget, stealable]
    )
    return true
  }

  /**
   * Queues both halves and ends the run with their results concatenated. The first half that does not succeed ends
   * it, once the other has stopped, as the first failure of a map interrupts the rest.
   */
  private join(task: ComputeTask.Any, run: PieceRun, left: Piece, right: Piece): void {
    const results: Array<ReadonlyArray<unknown>> = [[], []]
    let waiting = 2
    const settled = (index: 0 | 1) => (settlement: Settlement) => {
      if (settlement._tag === "Success") {
        results[index] = settlement.value as ReadonlyArray<unknown>
        if (--waiting === 0) run.done(Protocol.Outcome.Success, results[0]!.concat(results[1]!))
        return
      }
      run.interrupt = undefined
      this.queue.cancel(halves[1 - index]!, () => passUp(task, settlement, run.done))
    }
    const halves = [
      new Subtask(task, Protocol.Kind.Split, left, run, settled(0)),
      new Subtask(task, Protocol.Kind.Split, right, run, settled(1))
    ]
    // Known too big for a steal slot: not serialised only to find that out (it splits when it runs).
    for (const half of halves) half.fitsSlot = (half.encoded as Piece)[0].length <= (half.encoded as Piece)[4]
    run.interrupt = () => {
      run.interrupt = undefined
      let stopping = 2
      const stopped = () => {
        if (--stopping === 0) run.done(Protocol.Outcome.Interrupted, undefined)
      }
      for (const half of halves) this.queue.cancel(half, stopped)
    }
    // The left half last: this worker runs it next (newest first), and offers the right one to peers meanwhile.
    this.queue.push(halves[1]!)
    this.queue.push(halves[0]!)
  }
}

/** A half's ending, passed up as the piece's own: still encoded; a pool error as a ComputeFailure, as a handler's. */
const passUp = (task: ComputeTask.Any, settlement: Settlement, done: PieceRun["done"]): void => {
  switch (settlement._tag) {
    case "Success":
      return done(Protocol.Outcome.Success, settlement.value)
    case "Failure":
      return done(Protocol.Outcome.Failure, settlement.error)
    case "ComputeFailure":
      return done(Protocol.Outcome.ComputeFailure, settlement.encoded)
    case "Defect":
      return done(Protocol.Outcome.Defect, settlement.info)
    case "Interrupted":
      return done(Protocol.Outcome.Interrupted, undefined)
    default: {
      const encoded = Codec.encode(ComputeError as any, poolError(task, settlement))
      if (encoded.ok) return done(Protocol.Outcome.ComputeFailure, encoded.value)
      return done(Protocol.Outcome.ResultUnsendable, `a piece's pool error could not be encoded: ${encoded.error}`)
    }
  }
}
