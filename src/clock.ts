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
 * A clock moved by hand, for unit tests and the gossip simulator.
 * `advance(ms)` fires due timers in time order.
 */
export class ManualClock implements Clock {
  private t: number
  private seq = 0
  private readonly timers = new Map<number, { at: number; fn: () => void }>()
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
    const id = ++this.seq
    this.timers.set(id, { at: this.t + Math.max(0, ms), fn })
    return { cancel: () => void this.timers.delete(id) }
  }
  advance(ms: number): void {
    const end = this.t + ms
    for (;;) {
      let nextId = -1
      let nextAt = Infinity
      for (const [id, tm] of this.timers) {
        if (tm.at <= end && (tm.at < nextAt || (tm.at === nextAt && id < nextId))) {
          nextAt = tm.at
          nextId = id
        }
      }
      if (nextId < 0) break
      const tm = this.timers.get(nextId)!
      this.timers.delete(nextId)
      this.t = Math.max(this.t, tm.at)
      tm.fn()
    }
    this.t = end
  }
  pending(): number {
    return this.timers.size
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
