/**
 * What the health plugin tells its readers (admin metrics, the dashboard stream, tests): every
 * change of an endpoint's state with its reason, every active-check result and every alert
 * fired or resolved. The plugin fans them out with an `EventHub<HealthEvents>` (a throwing
 * subscriber is logged and skipped, never breaks the mechanism that emitted).
 */
import type { CheckOutcome } from './active-monitor.js'
import type { Alert } from './alerts.js'

/** One change of an endpoint's state, as kept in its history. */
export interface EndpointTransition {
  /** Endpoint id (`service~host:port`). */
  readonly endpoint: string
  readonly service: string
  /** e.g. `healthy`, `unhealthy`, `ejected`, `removed`, `breaker closed`, `breaker open`. */
  readonly from: string
  readonly to: string
  readonly reason: string
  /** Wall ms. */
  readonly at: number
}

export interface HealthEvents {
  /** An endpoint's combined eligibility (active health, ejection, breaker, drain) or its breaker changed. */
  transition?(t: EndpointTransition): void
  /** An active check ended (pass or fail). */
  checked?(c: CheckOutcome): void
  /** An alert fired or resolved. */
  alert?(a: Alert): void
}
