/**
 * A FIFO queue on a growable ring buffer: O(1) push and shift without the O(n) `Array.prototype.shift`.
 */
export class Deque<A> {
  private items: Array<A | undefined> = Array.from({ length: 16 })
  private head = 0
  private size = 0

  get length(): number {
    return this.size
  }

  push(item: A): void {
    if (this.size === this.items.length) this.grow()
    this.items[(this.head + this.size) & (this.items.length - 1)] = item
    this.size++
  }

  /** Puts an item back at the front. */
  unshift(item: A): void {
    if (this.size === this.items.length) this.grow()
    this.head = (this.head - 1 + this.items.length) & (this.items.length - 1)
    this.items[this.head] = item
    this.size++
  }

  shift(): A | undefined {
    if (this.size === 0) return undefined
    const item = this.items[this.head]
    this.items[this.head] = undefined
    this.head = (this.head + 1) & (this.items.length - 1)
    this.size--
    return item
  }

  /** The first item, left in place. */
  peek(): A | undefined {
    return this.size === 0 ? undefined : this.items[this.head]
  }

  /** Keeps only the items that pass `keep`, in order. */
  retain(keep: (item: A) => boolean): void {
    const kept: Array<A> = []
    for (let item = this.shift(); item !== undefined; item = this.shift()) if (keep(item)) kept.push(item)
    for (const item of kept) this.push(item)
  }

  private grow(): void {
    const next: Array<A | undefined> = Array.from({ length: this.items.length * 2 })
    for (let i = 0; i < this.size; i++) next[i] = this.items[(this.head + i) & (this.items.length - 1)]
    this.items = next
    this.head = 0
  }
}
