/**
 * The transmit-limited broadcast queue of gossip dissemination. Each item is an encoded message
 * with a key (the member it is about, or reporter+endpoint for health reports): a newer message
 * with the same key replaces the queued one. `take` fills a byte budget with the least transmitted
 * items first, most recent first among equals; an item is dropped after `retransmitLimit`
 * transmissions (n the cluster size).
 *
 * Items sit in one doubly linked list per transmit count (newest at the head), so enqueue,
 * replace and a transmission are O(1), and `take` stops as soon as the budget is full.
 */

interface Item {
  readonly key: string
  readonly message: Uint8Array
  readonly onDone: (() => void) | undefined
  transmits: number
  prev: Item | undefined
  next: Item | undefined
}

export interface BroadcastQueueOptions {
  readonly retransmitMult: number
  /** Oldest, most transmitted items are dropped beyond this (default 4096). */
  readonly maxItems?: number
}

/** Smallest encoded message: looking further once less than this is left is pointless. */
const MIN_MESSAGE = 7

/**
 * How many times each node transmits a rumour: SWIM's λ·log n as memberlist computes it,
 * retransmitMult · ceil(log10(n + 1)), but never under ceil(ln(n + 1)) + 4. Each member that
 * learns a rumour passes it on that many times to random members, so about n·e^(−limit) members
 * are expected to miss it; the floor keeps that under 2 % of a member whatever n and the
 * multiplier (with λ = 2 and log10 alone, a 5-member cluster would leave one member in two
 * without the rumour until the next push-pull).
 */
export function retransmitLimit(retransmitMult: number, clusterSize: number): number {
  const n = Math.max(1, clusterSize)
  return Math.max(Math.round(retransmitMult * Math.ceil(Math.log10(n + 1))), Math.ceil(Math.log(n + 1)) + 4)
}

export class BroadcastQueue {
  private readonly items = new Map<string, Item>()
  /** heads[t] = newest item transmitted t times. */
  private readonly heads: (Item | undefined)[] = []
  private readonly tails: (Item | undefined)[] = []
  private readonly retransmitMult: number
  private readonly maxItems: number

  constructor(options: BroadcastQueueOptions) {
    this.retransmitMult = options.retransmitMult
    this.maxItems = options.maxItems ?? 4096
  }

  get size(): number {
    return this.items.size
  }

  /** Queues a message, replacing (and completing) any queued one with the same key. */
  enqueue(key: string, message: Uint8Array, onDone?: () => void): void {
    const old = this.items.get(key)
    if (old !== undefined) this.finish(old)
    const item: Item = { key, message, onDone, transmits: 0, prev: undefined, next: undefined }
    this.items.set(key, item)
    this.link(item)
    if (this.items.size > this.maxItems) this.dropOne()
  }

  /** True when a message with this key is still queued. */
  has(key: string): boolean {
    return this.items.has(key)
  }

  /**
   * Messages for one packet: at most `limitBytes` in total, counting `overhead` extra bytes per
   * message. Each returned message counts one transmission.
   */
  take(clusterSize: number, overhead: number, limitBytes: number): Uint8Array[] {
    const out: Uint8Array[] = []
    if (this.items.size === 0) return out
    let room = limitBytes
    const chosen: Item[] = []
    for (let t = 0; t < this.heads.length && room >= MIN_MESSAGE + overhead; t++) {
      for (let it = this.heads[t]; it !== undefined && room >= MIN_MESSAGE + overhead; it = it.next) {
        const cost = it.message.length + overhead
        if (cost > room) continue
        room -= cost
        chosen.push(it)
      }
    }
    const limit = retransmitLimit(this.retransmitMult, clusterSize)
    for (const it of chosen) {
      out.push(it.message)
      this.unlink(it)
      it.transmits++
      if (it.transmits >= limit) this.finish(it, true)
      else this.link(it)
    }
    return out
  }

  /** Drops everything (each pending onDone still runs). */
  clear(): void {
    for (const it of [...this.items.values()]) this.finish(it)
  }

  private link(it: Item): void {
    const t = it.transmits
    while (this.heads.length <= t) {
      this.heads.push(undefined)
      this.tails.push(undefined)
    }
    it.prev = undefined
    it.next = this.heads[t]
    if (it.next !== undefined) it.next.prev = it
    else this.tails[t] = it
    this.heads[t] = it
  }

  private unlink(it: Item): void {
    const t = it.transmits
    if (it.prev !== undefined) it.prev.next = it.next
    else this.heads[t] = it.next
    if (it.next !== undefined) it.next.prev = it.prev
    else this.tails[t] = it.prev
    it.prev = it.next = undefined
  }

  private finish(it: Item, alreadyUnlinked = false): void {
    if (!alreadyUnlinked) this.unlink(it)
    if (this.items.get(it.key) === it) this.items.delete(it.key)
    it.onDone?.()
  }

  private dropOne(): void {
    for (let t = this.tails.length - 1; t >= 0; t--) {
      const it = this.tails[t]
      if (it !== undefined) {
        this.finish(it)
        return
      }
    }
  }
}
