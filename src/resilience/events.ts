/**
 * What the resilience mechanisms tell the rest of commy: breaker transitions, ejections and
 * returns, panic flips, retries, refused retries (budget exhausted) and event-loop lag flips.
 * Subscribers (the plugin's own logger, the admin API, health history) register an object of
 * callbacks with `on()`; a throwing subscriber never breaks the data path.
 */
import type { BreakerKind } from '../endpoint/endpoint.js'
import type { RetryBudgetStats } from './retry-budget.js'
import { EventHub } from '../listeners.js'

export interface BreakerTransition {
  readonly service: string
  /** `host:port`. */
  readonly endpoint: string
  /** Endpoint id (`service~host:port`), as in the admin API. */
  readonly endpointId: string
  readonly from: BreakerKind
  readonly to: BreakerKind
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

/** The subscriber list (commy's one EventHub); a throwing subscriber never breaks the data path. */
export class ResilienceEventHub extends EventHub<ResilienceEvents> {}
