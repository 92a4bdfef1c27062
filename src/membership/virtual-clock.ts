/**
 * A virtual clock for the gossip simulator and tests: time moves only when `advance` is called,
 * and due timers fire in time order (ties in scheduling order). A binary heap keeps this
 * O(log n) per timer, so thousands of simulated nodes with several timers each stay cheap
 * (the shared ManualClock scans every timer on each step).
 */
import type { Clock, Timer } from '../clock.js'

interface Entry {
  at: number
  seq: number
  fn: (() => void) | undefined
}

export class VirtualClock implements Clock {
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
