/**
 * Self-awareness: is commy's own event loop lagging? When it is, slow or timed-out answers are
 * our fault rather than the upstream's, so latency penalties and passive ejection pause (they are
 * given `isLagging` as an injected function).
 *
 * Two signals, sampled every `sampleMs`: the p99 of perf_hooks' monitorEventLoopDelay over the
 * last sample period, and how late our own sampling timer fired (which catches a long block at the
 * first tick after it, before the histogram would). Lagging while either exceeds `thresholdMs`;
 * it clears at the first sample period where both are under it.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks'
import { systemClock, type Clock, type Timer } from '../clock.js'
import type { Startable } from '../lifecycle.js'

export interface LoopLagOptions {
  /** health.eventLoopLagThresholdMs. */
  readonly thresholdMs: number
  /** Sample period (default 500 ms). */
  readonly sampleMs?: number
  /** Histogram resolution (default 10 ms). */
  readonly resolutionMs?: number
  readonly clock?: Clock
  /** Called when lagging flips, with the delay that decided it (ms). */
  readonly onChange?: (lagging: boolean, delayMs: number) => void
}

export class LoopLagMonitor implements Startable {
  private readonly thresholdMs: number
  private readonly sampleMs: number
  private readonly resolutionMs: number
  private readonly clock: Clock
  private readonly onChange: ((lagging: boolean, delayMs: number) => void) | undefined
  private histogram: IntervalHistogram | undefined
  private timer: Timer | undefined
  private due = 0
  private lagging = false
  private lastDelayMs = 0

  constructor(options: LoopLagOptions) {
    this.thresholdMs = options.thresholdMs
    this.sampleMs = Math.max(10, options.sampleMs ?? 500)
    this.resolutionMs = Math.max(1, options.resolutionMs ?? 10)
    this.clock = options.clock ?? systemClock
    this.onChange = options.onChange
  }

  /** A bound function to inject into the outlier detector and latency observation. */
  readonly isLagging = (): boolean => this.lagging

  /** The delay (ms) measured at the last sample. */
  get delayMs(): number {
    return this.lastDelayMs
  }

  start(): void {
    if (this.histogram) return
    this.histogram = monitorEventLoopDelay({ resolution: this.resolutionMs })
    this.histogram.enable()
    this.schedule()
  }

  stop(): void {
    this.timer?.cancel()
    this.timer = undefined
    this.histogram?.disable()
    this.histogram = undefined
    this.lagging = false
  }

  private schedule(): void {
    this.due = this.clock.now() + this.sampleMs
    this.timer = this.clock.setTimer(() => this.sample(), this.sampleMs)
  }

  private sample(): void {
    const h = this.histogram
    if (!h) return
    const late = Math.max(0, this.clock.now() - this.due)
    const p99 = h.count > 0 ? h.percentile(99) / 1e6 : 0
    // the histogram's delays include its own resolution tick: subtract it
    const delay = Math.max(late, p99 - this.resolutionMs)
    h.reset()
    this.lastDelayMs = delay
    const lagging = delay > this.thresholdMs
    if (lagging !== this.lagging) {
      this.lagging = lagging
      this.onChange?.(lagging, delay)
    }
    this.schedule()
  }
}
