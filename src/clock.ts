/**
 * Time and randomness are injected so that EWMA decay, suspicion timers, thresholds
 * and jitter can be tested deterministically. Production code uses `systemClock`.
 */
export interface Timer {
  /** Cancels the timer; calling it twice is harmless. */
  cancel(): void
}

export interface Clock {
  /** Milliseconds, monotonic for `systemClock`. */
  now(): number
  /** Wall-clock milliseconds since the epoch (for timestamps shown to people). */
  wallNow(): number
  /** One-shot timer that does not keep the process alive. */
  setTimer(fn: () => void, ms: number): Timer
}

export type Random = () => number

export const systemClock: Clock = {
  now: () => performance.now(),
  wallNow: () => Date.now(),
  setTimer(fn, ms) {
    const t = setTimeout(fn, ms)
    t.unref()
    return { cancel: () => clearTimeout(t) }
  },
}

/**
 * A clock moved by hand, for unit tests, the gossip simulator and the in-memory network: time moves
 * only when `advance`/`advanceTo` is called, and due timers fire in time order (ties in scheduling
 * order; a timer set while advancing fires in the same call when due). A binary heap keeps this
 * O(log n) per timer, so thousands of simulated nodes with several timers each stay cheap.
 */
interface Entry {
  at: number
  seq: number
  fn: (() => void) | undefined
}

export class ManualClock implements Clock {
  private t: number
  private seq = 0
  private live = 0
  private readonly heap: Entry[] = []

  constructor(start = 0) {
    this.t = start
  }

  now(): number {
    return this.t
  }

  wallNow(): number {
    return this.t
  }

  setTimer(fn: () => void, ms: number): Timer {
    const e: Entry = { at: this.t + Math.max(0, ms), seq: ++this.seq, fn }
    this.push(e)
    this.live++
    return {
      cancel: () => {
        if (e.fn !== undefined) {
          e.fn = undefined
          this.live--
        }
      },
    }
  }

  /** Timers not yet fired or cancelled. */
  pending(): number {
    return this.live
  }

  /** Moves time forward by `ms`, firing every timer due on the way. */
  advance(ms: number): void {
    this.advanceTo(this.t + ms)
  }

  advanceTo(end: number): void {
    const heap = this.heap
    while (heap.length > 0 && heap[0]!.at <= end) {
      const e = this.pop()
      const fn = e.fn
      if (fn === undefined) continue
      e.fn = undefined
      this.live--
      if (e.at > this.t) this.t = e.at
      fn()
    }
    if (end > this.t) this.t = end
  }

  private less(a: Entry, b: Entry): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq)
  }

  private push(e: Entry): void {
    const heap = this.heap
    heap.push(e)
    let i = heap.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      if (!this.less(heap[i]!, heap[p]!)) break
      ;[heap[i], heap[p]] = [heap[p]!, heap[i]!]
      i = p
    }
  }

  private pop(): Entry {
    const heap = this.heap
    const top = heap[0]!
    const last = heap.pop()!
    if (heap.length > 0) {
      heap[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < heap.length && this.less(heap[l]!, heap[m]!)) m = l
        if (r < heap.length && this.less(heap[r]!, heap[m]!)) m = r
        if (m === i) break
        ;[heap[i], heap[m]] = [heap[m]!, heap[i]!]
        i = m
      }
    }
    return top
  }
}

/** Deterministic PRNG (mulberry32) for tests and the simulator. */
export function seededRandom(seed: number): Random {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
