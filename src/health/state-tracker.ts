/**
 * Turns changes of an endpoint's combined eligibility (Endpoint.eligibility: active health,
 * ejection, breaker, drain) into transitions with their reason, for the history and logs. It
 * listens to ServiceEndpoints snapshots, so every mechanism that calls `refresh()` is covered
 * without wiring each one; `sweep()` catches changes that did not alter the eligible set (panic
 * mode, one ineligible state to another) and can run on the alert evaluator's beat.
 */
import type { Endpoint, EndpointState } from '../endpoint/endpoint.js'
import type { ServiceEndpoints } from '../endpoint/service-endpoints.js'

export type TransitionSink = (ep: Endpoint, from: string, to: string, reason: string, now: number) => void

export class EndpointStateTracker {
  private readonly sink: TransitionSink
  private readonly now: () => number
  private readonly last = new WeakMap<Endpoint, EndpointState>()
  private readonly observed = new Set<ServiceEndpoints>()

  constructor(sink: TransitionSink, now: () => number) {
    this.sink = sink
    this.now = now
  }

  /** Follows one service; returns an unsubscribe. The current states are taken as the start. */
  observe(service: ServiceEndpoints): () => void {
    this.observed.add(service)
    const now = this.now()
    for (const ep of service.snapshot.all) this.last.set(ep, ep.eligibility(now).state)
    const off = service.on({
      snapshot: (snap) => this.check(snap.all),
      removed: (ep) => {
        const from = this.last.get(ep)
        this.last.delete(ep)
        this.sink(ep, from ?? 'unknown', 'removed', 'left the service', this.now())
      },
    })
    return () => {
      off()
      this.observed.delete(service)
    }
  }

  /** Re-checks every endpoint of the observed services. */
  sweep(): void {
    for (const s of this.observed) this.check(s.snapshot.all)
  }

  private check(all: readonly Endpoint[]): void {
    const now = this.now()
    for (const ep of all) {
      const e = ep.eligibility(now)
      const from = this.last.get(ep)
      if (from === e.state) continue
      this.last.set(ep, e.state)
      // a new endpoint that starts healthy is not news; one that starts unhealthy is
      if (from === undefined && e.state === 'healthy') continue
      this.sink(ep, from ?? 'new', e.state, e.reason, now)
    }
  }
}
