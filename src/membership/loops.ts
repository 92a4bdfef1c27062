/**
 * The protocol's periodic loops (gossip, push-pull, reaping, health refresh): each one a timer that
 * re-arms itself with a fresh interval, starts at a random phase, survives a failing round
 * (counted and logged), and stops with the rest. Timers come from the injected clock.
 */
import type { Clock, Random, Timer } from '../clock.js'

export class Loops {
  private readonly timers = new Map<string, Timer>()
  private running = true

  constructor(
    private readonly clock: Clock,
    private readonly random: Random,
    private readonly onError: (loop: string, err: unknown) => void,
  ) {}

  every(name: string, interval: () => number, fn: () => void): void {
    const run = (): void => {
      if (!this.running) return
      try {
        fn()
      } catch (err) {
        this.onError(name, err)
      }
      if (this.running) this.timers.set(name, this.clock.setTimer(run, interval()))
    }
    this.timers.set(name, this.clock.setTimer(run, interval() * this.random()))
  }

  stop(): void {
    this.running = false
    for (const t of this.timers.values()) t.cancel()
    this.timers.clear()
  }
}
