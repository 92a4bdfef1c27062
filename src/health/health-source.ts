/**
 * The HealthSource interface: something that watches endpoints and writes their active health
 * (`Endpoint.activeHealth` / `activeReason`), then asks the service to refresh its snapshot.
 * The data-plane default, `AlwaysHealthy`, watches nothing: every endpoint is eligible.
 */
import type { Endpoint } from '../endpoint/endpoint.js'
import type { Startable } from '../lifecycle.js'

export interface HealthSource extends Startable {
  /** Begin watching an endpoint; `changed` is called after its activeHealth changed. */
  watch(ep: Endpoint, changed: () => void): void
  /** Stop watching it (it left the service). */
  unwatch(ep: Endpoint): void
}

export class AlwaysHealthy implements HealthSource {
  start(): void {}
  stop(): void {}
  watch(): void {}
  unwatch(): void {}
}
