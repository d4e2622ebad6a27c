/**
 * A worker's inbox: a ring of bytes in a `SharedArrayBuffer` through which the main thread hands the worker its tasks,
 * the injector queue of Rayon's design. Writing a batch of tasks costs the main thread a few stores per task; a
 * `postMessage` costs a few microseconds per message, most of it spent waking the worker, which is not needed while the
 * worker is awake: between tasks, and while it spins idle, it reads the ring itself. Only a worker gone to sleep (its
 * event loop waiting for messages, its `hungry` flag set) is woken, with a one-word `Drain` message.
 *
 * One writer (the main thread), one reader (the worker). A record is written below the tail, then the tail is moved
 * with an atomic store, which publishes it; the reader moves the head once it is done with a record.
 *
 * A batch that cannot go through the ring (buffers to transfer, shared memory, a payload V8 cannot serialize, no room)
 * is posted as a message, and a `Posted` placeholder takes its place in the ring, so the worker runs every batch in
 * the order it was sent whichever way it went. Room for one placeholder per claim cell is kept free, which is as many
 * records as a worker's tasks fill; records of tasks taken back wait unread too, so a worker stuck long enough in a
 * loop could still see its ring fill: a batch posted then is flagged to run on arrival, out of its turn.
 */
import * as v8 from "node:v8"
import * as Protocol from "../wire/protocol.ts"
import { serializeUnshared } from "./unsharedSerializer.ts"

/** Bytes of tasks the ring holds; a batch bigger than this part of it is posted instead. */
const ringBytes = 256 * 1024
const largestRecord = 64 * 1024
/** Int32 cells before the ring: the tail (the main thread's) and the head (the worker's), a cache line apart. */
const Cell = { tail: 0, head: 16 } as const
const headerBytes = 128

const Record = { Batch: 1, Posted: 2, Wrap: 3 } as const
const PayloadTag = { Number: 1, Serialized: 2 } as const
/** A name's index with this bit set: the name's characters follow (its first use in this ring). */
const definesName = 0x8000

/** record: type, length (bytes, with this header) */
const recordHeader = 8
/** batch: urgent, task count */
const batchHeader = 8
/** entry: id (f64), claim (i32), kind (u8), payload tag (u8), name index (u16) */
const entryHeader = 16

export const allocate = (): SharedArrayBuffer => new SharedArrayBuffer(headerBytes + ringBytes)

const aligned = (bytes: number): number => (bytes + 7) & ~7

/** The main thread's end. */
export class InboxWriter {
  private readonly cells: Int32Array
  private readonly view: DataView
  private readonly bytes: Uint8Array
  /** the names the reader has learnt, by index */
  private readonly names = new Map<string, number>()
  /** bytes kept free for placeholders */
  private readonly reserve: number
  constructor(buffer: SharedArrayBuffer, claimCells: number) {
    this.cells = new Int32Array(buffer, 0, headerBytes / 4)
    this.view = new DataView(buffer, headerBytes, ringBytes)
    this.bytes = new Uint8Array(buffer, headerBytes, ringBytes)
    this.reserve = (claimCells + 1) * recordHeader
  }

  /** Writes a Run message's tasks as one record; false when it must be posted instead (nothing is published then). */
  writeBatch(message: Protocol.RunMessage): boolean {
    const tail = this.cells[Cell.tail]!
    const head = Atomics.load(this.cells, Cell.head)
    const budget = freeBytes(head, tail) - this.reserve
    // At the tail, up to the end of the ring (or to the gap before the head).
    const atTail = head > tail ? head - tail - recordHeader : ringBytes - tail - (head === 0 ? recordHeader : 0)
    let end = this.encode(message, tail, tail + Math.min(atTail, budget, largestRecord))
    if (end >= 0) return this.publish(end)
    // Or at the start of the ring, skipping what is left at its end (a Wrap record says so).
    if (head > tail || head === 0) return false
    const skipped = ringBytes - tail
    end = this.encode(message, 0, Math.min(head - recordHeader, budget - skipped, largestRecord))
    if (end < 0) return false
    this.view.setInt32(tail, Record.Wrap)
    return this.publish(end)
  }

  /** Whether the place of a posted batch can be kept (see the module's comment: false only in a full ring). */
  hasRoomForPosted(): boolean {
    return freeBytes(Atomics.load(this.cells, Cell.head), this.cells[Cell.tail]!) >= recordHeader
  }

  /** Marks the place of a batch that was posted as a message; only when {@link hasRoomForPosted}. */
  writePosted(): void {
    const tail = this.cells[Cell.tail]!
    this.view.setInt32(tail, Record.Posted)
    this.view.setInt32(tail + 4, recordHeader)
    this.publish(tail + recordHeader)
  }

  /** Writes the batch record in `[start, end)`; where it ends, or -1 when it does not fit or cannot be written. */
  private encode(message: Protocol.RunMessage, start: number, end: number): number {
    const view = this.view
    let at = start + recordHeader + batchHeader
    if (at > end) return -1
    let count = 0
    // Names first used in this batch: learnt for good only once the batch is published.
    let defined: Map<string, number> | undefined
    let fits = true
    Protocol.forEachRunEntry(message, (id, name, kind, claim, payload, trace) => {
      if (!fits) return
      let index = this.names.get(name) ?? defined?.get(name)
      let nameBytes = 0
      if (index === undefined) {
        index = this.names.size + (defined?.size ?? 0)
        if (index >= definesName) return (fits = false)
        ;(defined ??= new Map()).set(name, index)
        nameBytes = aligned(4 + 2 * name.length)
      }
      if (tooBig(payload)) return (fits = false)
      const serialized = typeof payload === "number" && trace === undefined ? undefined : tryToSerialize(payload, trace)
      if (serialized === null) return (fits = false)
      const payloadBytes = serialized === undefined ? 8 : aligned(4 + serialized.length)
      if (at + entryHeader + nameBytes + payloadBytes > end) return (fits = false)
      view.setFloat64(at, id)
      view.setInt32(at + 8, claim)
      view.setUint8(at + 12, kind)
      view.setUint8(at + 13, serialized === undefined ? PayloadTag.Number : PayloadTag.Serialized)
      view.setUint16(at + 14, nameBytes === 0 ? index : index | definesName)
      at += entryHeader
      if (nameBytes > 0) {
        view.setUint32(at, name.length)
        for (let i = 0; i < name.length; i++) view.setUint16(at + 4 + 2 * i, name.charCodeAt(i))
        at += nameBytes
      }
      if (serialized === undefined) view.setFloat64(at, payload as number)
      else {
        view.setUint32(at, serialized.length)
        this.bytes.set(serialized, at + 4)
      }
      at += payloadBytes
      count++
    })
    if (!fits) return -1
    view.setInt32(start, Record.Batch)
    view.setInt32(start + 4, at - start)
    view.setInt32(start + recordHeader, message[1] & Protocol.RunFlag.Urgent)
    view.setInt32(start + recordHeader + 4, count)
    if (defined !== undefined) { for (const [name, index] of defined) this.names.set(name, index) }
    return at
  }

  private publish(end: number): true {
    Atomics.store(this.cells, Cell.tail, end === ringBytes ? 0 : end)
    return true
  }
}

/** Bytes the writer may still use; one record header stays unused, so that a full ring does not look empty. */
const freeBytes = (head: number, tail: number): number => (head - tail - recordHeader + 2 * ringBytes) % ringBytes

/**
 * A payload that plainly cannot fit in a record — a big typed array, buffer or string, as it is or one level down in
 * an array or object — is not serialized only to find that out: serializing a 1 MiB array twice (here, then for the
 * message) halved the copy rate.
 */
const tooBig = (payload: unknown, depth = 0): boolean => {
  // The first 16 elements or properties only: a look, bounded, on the dispatch path.
  if (typeof payload === "string") return payload.length > largestRecord
  if (typeof payload !== "object" || payload === null) return false
  if (ArrayBuffer.isView(payload) || payload instanceof ArrayBuffer) return payload.byteLength > largestRecord
  if (depth > 0) return false
  if (Array.isArray(payload)) {
    for (let i = 0; i < payload.length && i < 16; i++) if (tooBig(payload[i], 1)) return true
    return false
  }
  let looked = 0
  for (const key in payload) {
    if (tooBig((payload as Record<string, unknown>)[key], 1)) return true
    if (++looked === 16) break
  }
  return false
}

const tryToSerialize = (payload: unknown, trace: readonly [string, string] | undefined): Uint8Array | null => {
  try {
    return serializeUnshared([payload, trace])
  } catch {
    return null
  }
}

/** What the reader does with the records: each call gets one batch's tasks in order, or one posted batch's place. */
export interface InboxHandler {
  readonly beginBatch: () => void
  readonly entry: Protocol.RunEntryReader
  readonly endBatch: (urgent: boolean) => void
  /** A posted batch goes here; false when it has not arrived yet (reading stops until it has). */
  readonly posted: () => boolean
}

/** The worker's end. */
export class InboxReader {
  private readonly cells: Int32Array
  private readonly view: DataView
  private readonly bytes: Uint8Array
  private readonly names: Array<string> = []
  constructor(buffer: SharedArrayBuffer) {
    this.cells = new Int32Array(buffer, 0, headerBytes / 4)
    this.view = new DataView(buffer, headerBytes, ringBytes)
    this.bytes = new Uint8Array(buffer, headerBytes, ringBytes)
  }

  /** Whether a record waits (the worker spins on this while idle). */
  hasRecords(): boolean {
    return Atomics.load(this.cells, Cell.tail) !== this.cells[Cell.head]
  }

  /** Whether the next record is the place of a posted batch (which must arrive before reading goes on). */
  nextIsPosted(): boolean {
    let head = this.cells[Cell.head]!
    if (head === Atomics.load(this.cells, Cell.tail)) return false
    if (this.view.getInt32(head) === Record.Wrap) head = 0
    return this.view.getInt32(head) === Record.Posted
  }

  /**
   * Reads every record there is, in order, until the ring is empty or a posted batch has not arrived; whether it read
   * any.
   */
  read(handler: InboxHandler): boolean {
    const first = this.cells[Cell.head]!
    let head = first
    while (head !== Atomics.load(this.cells, Cell.tail)) {
      const type = this.view.getInt32(head)
      if (type === Record.Wrap) {
        head = 0
        continue
      }
      if (type === Record.Posted && !handler.posted()) break
      if (type === Record.Batch) this.readBatch(head, handler)
      head += this.view.getInt32(head + 4)
      if (head === ringBytes) head = 0
      // Done with the record: the writer may reuse its bytes.
      Atomics.store(this.cells, Cell.head, head)
    }
    if (this.cells[Cell.head] !== head) Atomics.store(this.cells, Cell.head, head)
    return head !== first
  }

  private readBatch(start: number, handler: InboxHandler): void {
    const view = this.view
    const urgent = view.getInt32(start + recordHeader) === 1
    const count = view.getInt32(start + recordHeader + 4)
    let at = start + recordHeader + batchHeader
    handler.beginBatch()
    for (let i = 0; i < count; i++) {
      const id = view.getFloat64(at)
      const claim = view.getInt32(at + 8)
      const kind = view.getUint8(at + 12) as Protocol.Kind
      const tag = view.getUint8(at + 13)
      const index = view.getUint16(at + 14)
      at += entryHeader
      if ((index & definesName) !== 0) {
        const length = view.getUint32(at)
        let name = ""
        for (let c = 0; c < length; c++) name += String.fromCharCode(view.getUint16(at + 4 + 2 * c))
        this.names[index & ~definesName] = name
        at += aligned(4 + 2 * length)
      }
      const name = this.names[index & ~definesName]!
      if (tag === PayloadTag.Number) {
        handler.entry(id, name, kind, claim, view.getFloat64(at), undefined)
        at += 8
      } else {
        const length = view.getUint32(at)
        const [payload, trace] = v8.deserialize(this.bytes.slice(at + 4, at + 4 + length)) as [
          unknown,
          readonly [string, string] | undefined
        ]
        at += aligned(4 + length)
        handler.entry(id, name, kind, claim, payload, trace)
      }
    }
    handler.endBatch(urgent)
  }
}
