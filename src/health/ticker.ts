/**
 * A repeating task on the injected clock: runs `fn` every `intervalMs` between start() and stop().
 * The next run is scheduled after the previous one returned (no overlap); a throw is reported to
 * `onError` and the ticker keeps going. The timer is the clock's (unref'd for systemClock).
 */
import type { Clock, Timer } from '../clock.js'
import type { Startable } from '../lifecycle.js'

export class Ticker implements Startable {
  private readonly clock: Clock
  private readonly intervalMs: number
  private readonly fn: () => void
  private readonly onError: (err: unknown) => void
  private timer: Timer | undefined
  private running = false

  constructor(clock: Clock, intervalMs: number, fn: () => void, onError: (err: unknown) => void = () => {}) {
    if (!(intervalMs > 0)) throw new RangeError('a ticker needs intervalMs > 0')
    this.clock = clock
    this.intervalMs = intervalMs
    this.fn = fn
    this.onError = onError
  }

  start(): void {
    if (this.running) return
    this.running = true
    this.schedule()
  }

  stop(): void {
    this.running = false
    this.timer?.cancel()
    this.timer = undefined
  }

  private schedule(): void {
    this.timer = this.clock.setTimer(() => {
      if (!this.running) return
      try {
        this.fn()
      } catch (err) {
        this.onError(err)
      }
      if (this.running) this.schedule()
    }, this.intervalMs)
  }
}
