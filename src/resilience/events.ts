/**
 * What the resilience mechanisms tell the rest of commy: breaker transitions, ejections and
 * returns, panic flips, retries, refused retries (budget exhausted) and event-loop lag flips.
 * Subscribers (the plugin's own logger, the admin API, health history) register an object of
 * callbacks with `on()`; a throwing subscriber never breaks the data path.
 */
import type { BreakerState } from '../endpoint/endpoint.js'
import type { RetryBudgetStats } from './retry-budget.js'

export interface BreakerTransition {
  readonly service: string
  /** `host:port`. */
  readonly endpoint: string
  /** Endpoint id (`service~host:port`), as in the admin API. */
  readonly endpointId: string
  readonly from: BreakerState
  readonly to: BreakerState
  readonly reason: string
}

export interface EjectionEvent {
  readonly service: string
  readonly endpoint: string
  readonly endpointId: string
  readonly durationMs: number
  /** Ejection multiplier after this one (1 for the first in a while). */
  readonly multiplier: number
  readonly reason: string
  /** Ejections of this endpoint since commy started. */
  readonly ejections: number
}

export interface EjectionEndedEvent {
  readonly service: string
  readonly endpoint: string
  readonly endpointId: string
}

export interface PanicEvent {
  readonly service: string
  /** True: too few endpoints are healthy, every non-draining endpoint takes traffic. */
  readonly panic: boolean
  /** Endpoints eligible on their own merits (not counting panic). */
  readonly healthy: number
  /** Non-draining endpoints. */
  readonly serving: number
  readonly threshold: number
}

export interface RetryEvent {
  readonly service: string
  readonly method: string
  /** Tries made so far (the retry will be try `tries + 1`). */
  readonly tries: number
  readonly reason: string
  /** Took a token from the retry budget (false for the keep-alive race). */
  readonly budgeted: boolean
}

export interface BudgetExhaustedEvent {
  readonly service: string
  readonly method: string
  readonly tries: number
  /** Why the retry was wanted. */
  readonly reason: string
  readonly stats: RetryBudgetStats
}

export interface LagEvent {
  readonly lagging: boolean
  readonly delayMs: number
  readonly thresholdMs: number
}

/** Callbacks for `ResiliencePlugin.on()`; give only the ones you need. */
export interface ResilienceEvents {
  breakerTransition?(e: BreakerTransition): void
  ejection?(e: EjectionEvent): void
  ejectionEnded?(e: EjectionEndedEvent): void
  panic?(e: PanicEvent): void
  retry?(e: RetryEvent): void
  budgetExhausted?(e: BudgetExhaustedEvent): void
  lag?(e: LagEvent): void
}

type Handler<K extends keyof ResilienceEvents> = NonNullable<ResilienceEvents[K]>
type Payload<K extends keyof ResilienceEvents> = Parameters<Handler<K>>[0]

/** The subscriber list. `emit` calls every subscriber of the event, isolating failures. */
export class ResilienceEventHub {
  private subscribers: readonly ResilienceEvents[] = []

  on(events: ResilienceEvents): () => void {
    this.subscribers = [...this.subscribers, events]
    return () => {
      this.subscribers = this.subscribers.filter((s) => s !== events)
    }
  }

  emit<K extends keyof ResilienceEvents>(event: K, payload: Payload<K>): void {
    for (const s of this.subscribers) {
      const fn = s[event] as ((p: Payload<K>) => void) | undefined
      if (fn === undefined) continue
      try {
        fn.call(s, payload)
      } catch {
        // a subscriber must not break the data path
      }
    }
  }

  /** Anyone listening for `event`? (lets hot paths skip building a payload). */
  wants(event: keyof ResilienceEvents): boolean {
    for (const s of this.subscribers) if (s[event] !== undefined) return true
    return false
  }
}
