/**
 * Mesh endpoints refused for their identity. When a mesh endpoint presents, in the TLS handshake,
 * a certificate that is not its service's identity (an impostor, or a node announcing a service
 * whose certificate it does not hold), the transport reports it here: the endpoint is taken out
 * of picking (`Endpoint.identityRefusedUntil`, shown as `ejected` with the reason in
 * /v1/endpoints) for a bounded time, then picked again, which re-checks it in the next handshake.
 * A repeat offender stays out longer (base × consecutive refusals, capped), as Envoy's ejection
 * multiplier does. Each refusal episode is reported once (`refused`: the log line with the node
 * name, the metric); refusals are counted per service.
 */
import type { Clock, Timer } from '../clock.js'
import type { Endpoint } from '../endpoint/endpoint.js'
import type { Startable } from '../lifecycle.js'

/** First refusal: 30 s; each consecutive one adds as much, up to 5 minutes. */
export const IDENTITY_REFUSAL_BASE_MS = 30_000
export const IDENTITY_REFUSAL_MAX_MS = 300_000

export interface IdentityRefusal {
  readonly endpoint: Endpoint
  /** SPIFFE ID it presented (undefined: none). */
  readonly presented: string | undefined
  readonly expected: string
  /** How long it is out of picking (ms). */
  readonly durationMs: number
  /** Consecutive refusals of this endpoint (1 the first time). */
  readonly count: number
}

export interface IdentityRefusalsOptions {
  readonly clock: Clock
  /** The endpoint's eligibility changed (ServiceEndpoints.refresh of its service). */
  readonly changed: (ep: Endpoint) => void
  /** A new refusal episode (not called again while the endpoint is still refused). */
  readonly refused?: (r: IdentityRefusal) => void
  readonly baseMs?: number
  readonly maxMs?: number
}

export class IdentityRefusals implements Startable {
  private readonly options: IdentityRefusalsOptions
  private readonly timers = new Map<Endpoint, Timer>()
  private readonly streak = new WeakMap<Endpoint, number>()
  private readonly perService = new Map<string, number>()

  constructor(options: IdentityRefusalsOptions) {
    this.options = options
  }

  start(): void {}

  /** The endpoint presented `presented` instead of `expected`. */
  refuse(ep: Endpoint, presented: string | undefined, expected: string): void {
    this.perService.set(ep.service, (this.perService.get(ep.service) ?? 0) + 1)
    const now = this.options.clock.now()
    if (ep.identityRefusedUntil > now) return // a connection of the same episode
    const count = (this.streak.get(ep) ?? 0) + 1
    this.streak.set(ep, count)
    const base = this.options.baseMs ?? IDENTITY_REFUSAL_BASE_MS
    const durationMs = Math.min(base * count, this.options.maxMs ?? IDENTITY_REFUSAL_MAX_MS)
    ep.identityRefusedUntil = now + durationMs
    ep.identityRefusal = `identity mismatch: presented ${presented ?? 'no mesh identity'}, expected ${expected}`
    this.timers.get(ep)?.cancel()
    this.timers.set(
      ep,
      this.options.clock.setTimer(() => {
        this.timers.delete(ep)
        this.options.changed(ep)
      }, durationMs),
    )
    this.options.changed(ep)
    this.options.refused?.({ endpoint: ep, presented, expected, durationMs, count })
  }

  /** The endpoint proved its identity (a handshake passed): its next refusal starts from the base time again. */
  verified(ep: Endpoint): void {
    if (this.streak.has(ep)) this.streak.delete(ep)
  }

  /** The endpoint left: forget its timer. */
  forget(ep: Endpoint): void {
    this.timers.get(ep)?.cancel()
    this.timers.delete(ep)
  }

  /** Refusals so far, per service (every refused handshake counts). */
  counts(): ReadonlyMap<string, number> {
    return this.perService
  }

  stop(): void {
    for (const t of this.timers.values()) t.cancel()
    this.timers.clear()
  }
}
