/**
 * A worker's steal slots: the part of its shared region where it publishes queued subtasks for idle peers to take.
 * A peer must be able to take one while the owner is stuck in a synchronous loop, so everything a thief needs — the
 * task's name, its encoded payload, the root task it belongs to — is written here, and a slot changes hands by
 * compare-and-swap on its state cell: the owner taking it back to run it itself and a thief stealing it cannot both
 * win. The slot stays reserved until the thief's answer comes back; it is also where the owner asks the thief to stop.
 *
 * Payloads that are plain numbers are written as they are; anything else goes through V8's serializer. One that does
 * not fit in a slot, or holds shared memory (the serializer would copy it, and the thief's writes would be lost), is
 * not published: the caller sends it another way.
 */
import * as v8 from "node:v8"
import type * as Protocol from "../wire/protocol.ts"
import { headerBytes } from "./region.ts"
import { serializeUnshared } from "./unsharedSerializer.ts"

const slotCount = 32
const slotBytes = 8_192
const cellsPerSlot = 8

/** Cells of a slot, in order. */
const Cell = {
  state: 0,
  token: 1,
  rootId: 2,
  nameLength: 3,
  payloadTag: 4,
  payloadLength: 5,
  cancel: 6,
  kind: 7
} as const

/** The cancel cell: the owner asks the thief to stop (once), the thief says it has answered. */
const Cancel = { None: 0, Requested: 1, Answered: 2 } as const

/** A slot's state: `Stolen + thiefId` once a thief has it. */
const State = { Free: 0, Published: 1, Stolen: 2 } as const

const PayloadTag = { Number: 1, Serialized: 2 } as const

const cellsOffset = headerBytes
const dataOffset = cellsOffset + slotCount * cellsPerSlot * 4

/** What a region holds past its header for the steal slots. */
export const stealSlotsBytes = slotCount * cellsPerSlot * 4 + slotCount * slotBytes

/** What {@link StealSlots.publish} returns when every slot is taken (for now). */
export const noFreeSlot = -1
/** What {@link StealSlots.publish} returns for a payload too big for a slot, holding shared memory, or not serialisable. */
export const doesNotFit = -2

/** Room in a slot kept for the task's name, the trace and a piece's other fields, beside a piece's items. */
const itemsReserve = 1_024

/**
 * About how many payloads like those of `sample` (a few encoded ones) fit in one slot together: what a piece of a
 * split map may hold to be stolen (`splitting.ts`). Infinity when such payloads cannot be published at all (shared
 * memory, not serialisable, or one alone too big), so that splitting them smaller would not help.
 */
export const payloadsPerSlot = (sample: ReadonlyArray<unknown>): number => {
  let bytes: number
  try {
    bytes = serializeUnshared(sample).length
  } catch {
    return Infinity
  }
  const fit = Math.floor(((slotBytes - itemsReserve) * sample.length) / Math.max(bytes, 1))
  return fit >= 1 ? fit : Infinity
}

/** A published subtask, as a thief reads it. */
export interface Stolen {
  readonly slot: number
  readonly token: number
  readonly rootId: number
  readonly name: string
  readonly kind: Protocol.Kind
  readonly encoded: unknown
  readonly trace: readonly [string, string] | undefined
}

export class StealSlots {
  private readonly cells: Int32Array
  private readonly bytes: Uint8Array
  private readonly view: DataView
  /** owner only: slots it may publish in */
  private readonly free: Array<number> = []
  constructor(region: SharedArrayBuffer) {
    this.cells = new Int32Array(region, cellsOffset, slotCount * cellsPerSlot)
    this.bytes = new Uint8Array(region, dataOffset, slotCount * slotBytes)
    this.view = new DataView(region, dataOffset, slotCount * slotBytes)
    for (let slot = slotCount - 1; slot >= 0; slot--) this.free.push(slot)
  }

  // ---- the owner's side

  /** Publishes a subtask for thieves; its slot, or {@link noFreeSlot}, or {@link doesNotFit} (never will). */
  publish(
    token: number,
    rootId: number,
    name: string,
    kind: Protocol.Kind,
    encoded: unknown,
    trace: readonly [string, string] | undefined
  ): number {
    const slot = this.free.pop()
    if (slot === undefined) return noFreeSlot
    const base = slot * slotBytes
    const nameBytes = name.length * 2
    let tag: number
    let length: number
    if (typeof encoded === "number" && trace === undefined) {
      tag = PayloadTag.Number
      length = 8
      if (nameBytes + 16 > slotBytes) return this.unpublished(slot)
      this.view.setFloat64(base + alignedAfter(nameBytes), encoded)
    } else {
      let serialized: Uint8Array
      try {
        serialized = serializeUnshared([encoded, trace])
      } catch {
        return this.unpublished(slot)
      }
      tag = PayloadTag.Serialized
      length = serialized.length
      if (alignedAfter(nameBytes) + length > slotBytes) return this.unpublished(slot)
      this.bytes.set(serialized, base + alignedAfter(nameBytes))
    }
    for (let i = 0; i < name.length; i++) this.view.setUint16(base + 2 * i, name.charCodeAt(i))
    const cell = slot * cellsPerSlot
    this.cells[cell + Cell.token] = token
    this.cells[cell + Cell.rootId] = rootId
    this.cells[cell + Cell.nameLength] = name.length
    this.cells[cell + Cell.payloadTag] = tag
    this.cells[cell + Cell.payloadLength] = length
    this.cells[cell + Cell.kind] = kind
    Atomics.store(this.cells, cell + Cell.cancel, Cancel.None)
    // Last: from here on a thief may take it.
    Atomics.store(this.cells, cell + Cell.state, State.Published)
    return slot
  }

  /** Takes a published subtask back to run it here; false when a thief got it first. */
  retract(slot: number): boolean {
    if (Atomics.compareExchange(this.cells, slot * cellsPerSlot + Cell.state, State.Published, State.Free) !== 1) {
      return false
    }
    this.free.push(slot)
    return true
  }

  /** The worker that stole what is in `slot`, or -1. */
  thiefOf(slot: number): number {
    const state = Atomics.load(this.cells, slot * cellsPerSlot + Cell.state)
    return state >= State.Stolen ? state - State.Stolen : -1
  }

  /** The thief answered (or is gone): the slot can be published in again. */
  release(slot: number): void {
    Atomics.store(this.cells, slot * cellsPerSlot + Cell.state, State.Free)
    this.free.push(slot)
  }

  /** Asks the thief to stop: what its `isInterrupted()` reads while a loop keeps it from its messages. */
  requestCancel(slot: number): void {
    Atomics.compareExchange(this.cells, slot * cellsPerSlot + Cell.cancel, Cancel.None, Cancel.Requested)
  }

  private unpublished(slot: number): number {
    this.free.push(slot)
    return doesNotFit
  }

  // ---- a thief's side

  /** Whether anything is published here (a quick look before trying to steal). */
  hasPublished(): boolean {
    for (let slot = 0; slot < slotCount; slot++) {
      if (Atomics.load(this.cells, slot * cellsPerSlot + Cell.state) === State.Published) return true
    }
    return false
  }

  /** Steals the oldest published subtask for `thiefId`, or nothing when there is none (or others won each race). */
  steal(thiefId: number): Stolen | undefined {
    for (;;) {
      let oldest = -1
      let oldestToken = 0
      for (let slot = 0; slot < slotCount; slot++) {
        const cell = slot * cellsPerSlot
        if (Atomics.load(this.cells, cell + Cell.state) !== State.Published) continue
        const token = Atomics.load(this.cells, cell + Cell.token)
        if (oldest === -1 || token - oldestToken < 0) {
          oldest = slot
          oldestToken = token
        }
      }
      if (oldest === -1) return undefined
      const cell = oldest * cellsPerSlot
      if (
        Atomics.compareExchange(this.cells, cell + Cell.state, State.Published, State.Stolen + thiefId) ===
          State.Published
      ) {
        return this.read(oldest)
      }
    }
  }

  isCancelRequested(slot: number): boolean {
    return Atomics.load(this.cells, slot * cellsPerSlot + Cell.cancel) === Cancel.Requested
  }

  /** The thief has sent its answer (its run is over), whether or not the owner is there to read it. */
  markAnswered(slot: number): void {
    Atomics.store(this.cells, slot * cellsPerSlot + Cell.cancel, Cancel.Answered)
  }

  // ---- the main thread's side, once the owner is gone

  /**
   * The owner died: withdraws what no thief has taken, asks every thief still running one of its subtasks to stop,
   * and returns those thieves' ids (one that has not answered within the grace period is terminated).
   */
  cancelAllStolen(): Array<number> {
    const thieves: Array<number> = []
    for (let slot = 0; slot < slotCount; slot++) {
      // Not taken yet: no one may take it now.
      Atomics.compareExchange(this.cells, slot * cellsPerSlot + Cell.state, State.Published, State.Free)
      const thief = this.unansweredThief(slot)
      if (thief < 0) continue
      this.requestCancel(slot)
      thieves.push(thief)
    }
    return thieves
  }

  /** Whether `thief` still runs a subtask it stole from here. */
  isStillRunning(thief: number): boolean {
    for (let slot = 0; slot < slotCount; slot++) if (this.unansweredThief(slot) === thief) return true
    return false
  }

  private unansweredThief(slot: number): number {
    const thief = this.thiefOf(slot)
    if (thief < 0 || Atomics.load(this.cells, slot * cellsPerSlot + Cell.cancel) === Cancel.Answered) return -1
    return thief
  }

  private read(slot: number): Stolen {
    const cell = slot * cellsPerSlot
    const base = slot * slotBytes
    const nameLength = this.cells[cell + Cell.nameLength]!
    let name = ""
    for (let i = 0; i < nameLength; i++) name += String.fromCharCode(this.view.getUint16(base + 2 * i))
    const at = base + alignedAfter(nameLength * 2)
    let encoded: unknown
    let trace: readonly [string, string] | undefined
    if (this.cells[cell + Cell.payloadTag] === PayloadTag.Number) encoded = this.view.getFloat64(at)
    else {
      const copy = this.bytes.slice(at, at + this.cells[cell + Cell.payloadLength]!)
      ;[encoded, trace] = v8.deserialize(copy) as [unknown, readonly [string, string] | undefined]
    }
    return {
      slot,
      token: this.cells[cell + Cell.token]!,
      rootId: this.cells[cell + Cell.rootId]!,
      name,
      kind: this.cells[cell + Cell.kind] as Protocol.Kind,
      encoded,
      trace
    }
  }
}

const alignedAfter = (bytes: number): number => (bytes + 7) & ~7
