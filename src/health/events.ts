/**
 * What the health plugin tells its readers (admin metrics, the dashboard stream, tests): every
 * change of an endpoint's state with its reason, every active-check result and every alert
 * fired or resolved. `HealthListeners` fans one event out to the subscribers; a throwing
 * subscriber is logged and skipped, never breaks the mechanism that emitted.
 */
import type { Logger } from 'pino'
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

export class HealthListeners {
  private list: readonly HealthEvents[] = []
  private readonly logger: Logger | undefined

  constructor(logger?: Logger) {
    this.logger = logger
  }

  on(listener: HealthEvents): () => void {
    this.list = [...this.list, listener]
    return () => void (this.list = this.list.filter((l) => l !== listener))
  }

  transition(t: EndpointTransition): void {
    for (const l of this.list) if (l.transition) this.call(() => l.transition!(t))
  }

  checked(c: CheckOutcome): void {
    for (const l of this.list) if (l.checked) this.call(() => l.checked!(c))
  }

  alert(a: Alert): void {
    for (const l of this.list) if (l.alert) this.call(() => l.alert!(a))
  }

  private call(fn: () => void): void {
    try {
      fn()
    } catch (err) {
      this.logger?.error({ err }, 'health event listener failed')
    }
  }
}
