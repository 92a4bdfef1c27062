/**
 * A repeating task on the injected clock, the one periodic loop of commy (alert evaluation, the
 * endpoint-state sweep, the gossip protocol's loops). It runs `run` every interval between start()
 * and stop(); the next run is scheduled after the previous one returned, so runs never overlap.
 * A throw is reported to `onError` and the ticker keeps going. `interval` may be a function, read
 * again before each run (a fresh, jittered or reconfigured interval). With `phase`, the first run
 * comes after interval × phase() (loops started together spread out); otherwise after one
 * interval. start() and stop() are idempotent; a stopped ticker can start again. The timer is the
 * clock's (unref'd for systemClock).
 */
import type { Clock, Random, Timer } from './clock.js'
import type { Startable } from './lifecycle.js'

export interface TickerOptions {
  readonly clock: Clock
  /** Milliseconds between runs (> 0), or a function read before each run. */
  readonly interval: number | (() => number)
  readonly run: () => void
  /** Told when `run` throws (the ticker carries on). */
  readonly onError?: (err: unknown) => void
  /** Random first delay: interval × phase() instead of a full interval. */
  readonly phase?: Random
}

export class Ticker implements Startable {
  private readonly clock: Clock
  private readonly interval: () => number
  private readonly run: () => void
  private readonly onError: (err: unknown) => void
  private readonly phase: Random | undefined
  private timer: Timer | undefined
  private running = false

  constructor(options: TickerOptions) {
    const iv = options.interval
    if (typeof iv === 'number' && !(iv > 0)) throw new RangeError('a ticker needs an interval > 0')
    this.clock = options.clock
    this.interval = typeof iv === 'number' ? () => iv : iv
    this.run = options.run
    this.onError = options.onError ?? (() => {})
    this.phase = options.phase
  }

  get started(): boolean {
    return this.running
  }

  start(): void {
    if (this.running) return
    this.running = true
    this.schedule(this.phase === undefined ? this.interval() : this.interval() * this.phase())
  }

  stop(): void {
    this.running = false
    this.timer?.cancel()
    this.timer = undefined
  }

  private schedule(ms: number): void {
    this.timer = this.clock.setTimer(() => this.tick(), ms)
  }

  private tick(): void {
    this.timer = undefined
    if (!this.running) return
    try {
      this.run()
    } catch (err) {
      this.onError(err)
    }
    if (this.running && this.timer === undefined) this.schedule(this.interval())
  }
}
