/**
 * Endpoint: one address of a service, and the per-endpoint stats store every strategy reads
 * (in-flight, peak-EWMA latency, counters, breaker/health/ejection state, zone, weight).
 * Strategies never keep private copies of these numbers; the request pipeline updates them.
 */
import { PeakEwma } from './ewma.js'

/** A circuit breaker's state names (what the admin API, metrics and events show). */
export type BreakerKind = 'closed' | 'open' | 'half-open'
/**
 * A circuit breaker's state; each one says since when (clock ms) and why it was entered.
 * Only resilience/breaker-state.ts `nextBreaker()` moves it; the endpoint carries the current one.
 */
export type BreakerState =
  | { readonly kind: 'closed'; readonly since: number; readonly reason: string }
  | { readonly kind: 'open'; readonly since: number; readonly reason: string }
  /** `trial`: the id of the one trial request in flight (no other request goes here until it reports); 0 = none yet. */
  | { readonly kind: 'half-open'; readonly since: number; readonly reason: string; readonly trial: number }

/** The state of a breaker that never opened (and of an endpoint without one). */
export const BREAKER_CLOSED: BreakerState = Object.freeze({ kind: 'closed', since: 0, reason: 'initial state' })
export type ActiveHealth = 'unknown' | 'healthy' | 'unhealthy'
/** What the admin API shows for an endpoint. */
export type EndpointState = 'healthy' | 'unhealthy' | 'ejected' | 'draining'
export type EndpointSource = 'static' | 'gossip' | (string & {})

/** What a discovery source says about one endpoint. */
export interface EndpointInfo {
  readonly host: string
  readonly port: number
  readonly weight: number
  readonly zone: string | undefined
  readonly tags: readonly string[]
  /** Gossip node that announced it, if any. */
  readonly node?: string
  /** Health reported by the announcing node's own check (gossip), if any. */
  readonly reportedHealth?: ActiveHealth
  /** Announced at a node's mTLS inbound listener: dial it with TLS and check its identity. */
  readonly mtls?: boolean
  /** The announcing node put it in maintenance (gossip): not picked by anyone. */
  readonly maintenance?: boolean
}

export interface Eligibility {
  readonly eligible: boolean
  readonly state: EndpointState
  readonly reason: string
}

/**
 * How this sidecar treats endpoints learned from discovery: `none` (no `tls`: plaintext, mTLS
 * endpoints unusable), `strict` (mTLS only) or `permissive` (mTLS where announced, plaintext
 * otherwise). Static endpoints are the user's explicit choice and are never refused.
 */
export type MeshMode = 'none' | 'strict' | 'permissive'

/** The mesh policy's verdict on an endpoint: '' (usable) or why it is refused. Pure; one home for the rule. */
export function meshPolicy(mode: MeshMode, ep: Pick<Endpoint, 'source' | 'mtls' | 'node'>): string {
  if (ep.source === 'static') return ''
  const by = ep.node !== undefined ? ` by node ${ep.node}` : ''
  if (ep.mtls) return mode === 'none' ? `announced at an mTLS inbound${by}, and this sidecar has no tls configured` : ''
  return mode === 'strict' ? `plaintext refused (tls.mode: strict): announced without mTLS${by}` : ''
}

export function endpointKey(host: string, port: number): string {
  if (host.startsWith('unix:')) return host // a Unix domain socket: `unix:/path`
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
}

export class Endpoint {
  /** URL-safe, unique in the sidecar: `service~host:port`. */
  readonly id: string
  readonly service: string
  readonly host: string
  readonly port: number
  /** `host:port` (IPv6 in brackets). */
  readonly address: string
  /** `http://host:port`, what the transport dials (`http://localhost` for a Unix socket). */
  readonly origin: string
  /** A Unix domain socket endpoint (`unix:/path` in config): its path; undefined = TCP. */
  readonly socketPath: string | undefined

  weight: number
  zone: string | undefined
  tags: readonly string[]
  node: string | undefined
  source: EndpointSource
  /** Reached over mTLS (a node's inbound listener), its certificate checked for the service's identity. */
  mtls: boolean
  /** When it joined the service (clock ms), for slow start. 0 = present at start: full weight at once. */
  joinedAt = 0

  // ---- live stats (updated by the pipeline) ----
  inFlight = 0
  requests = 0
  failures = 0
  consecutiveFailures = 0
  readonly latency: PeakEwma

  // ---- health inputs (each written by its own mechanism) ----
  activeHealth: ActiveHealth = 'unknown'
  activeReason = ''
  breaker: BreakerState = BREAKER_CLOSED
  ejectedUntil = 0
  ejectionReason = ''
  /** Multiplier in (0, 1] from mesh-wide passive health (gossip quorum); 1 = no reports. */
  meshFactor = 1
  /** Slow start: when the current warm-up began (clock ms); -Infinity = full weight. */
  warmingSince = Number.NEGATIVE_INFINITY
  /** Slow-start window of the service (ms); 0 = none. */
  slowStartMs = 0
  /** In maintenance by this sidecar's operator (endpoint/maintenance.ts): not picked, never by panic routing. */
  maintenance = false
  /** In maintenance by the node that announces it (gossip): not picked, never by panic routing. */
  reportedMaintenance = false

  // ---- mesh security inputs: never overridden by panic routing ----
  /**
   * Why the mesh's TLS policy refuses it ('' = it does not): plaintext from discovery under
   * `tls.mode: strict`, or an mTLS endpoint while this sidecar has no `tls`. Written by
   * ServiceEndpoints (service-endpoints.ts) from `meshPolicy()`.
   */
  policyRefusal = ''
  /** It presented another identity in the TLS handshake: refused until then (clock ms). Written by transport/identity-refusals.ts. */
  identityRefusedUntil = 0
  identityRefusal = ''

  constructor(service: string, info: EndpointInfo, source: EndpointSource, latencyDecayMs: number) {
    this.service = service
    this.host = info.host
    this.port = info.port
    this.address = endpointKey(info.host, info.port)
    this.id = `${service}~${this.address}`
    this.socketPath = info.host.startsWith('unix:') ? info.host.slice(5) : undefined
    this.origin = this.socketPath === undefined ? `http://${this.address}` : 'http://localhost'
    this.weight = info.weight
    this.zone = info.zone
    this.tags = info.tags
    this.node = info.node
    this.mtls = info.mtls ?? false
    this.source = source
    this.latency = new PeakEwma(latencyDecayMs)
  }

  /** Slow-start factor in (0, 1]: ramps linearly from 10% to 100% over the window. */
  warmFactor(now: number): number {
    if (this.slowStartMs <= 0) return 1
    const f = (now - this.warmingSince) / this.slowStartMs
    return f >= 1 ? 1 : f <= 0.1 ? 0.1 : f
  }

  /** Weight strategies should use now: configured weight × slow start × mesh health. */
  effectiveWeight(now: number): number {
    return this.weight * this.warmFactor(now) * this.meshFactor
  }

  /** Why mesh security refuses it now (policy, identity mismatch), or undefined. Panic routing never overrides it. */
  refusal(now: number): string | undefined {
    if (this.policyRefusal !== '') return this.policyRefusal
    if (this.identityRefusedUntil > now) return this.identityRefusal
    return undefined
  }

  /** In maintenance, here or by its own node: out of rotation, panic routing included. */
  get inMaintenance(): boolean {
    return this.maintenance || this.reportedMaintenance
  }

  /** One answer combining maintenance, mesh security, active health, breaker, ejection and drain, with the reason. */
  eligibility(now: number): Eligibility {
    if (this.weight <= 0) return { eligible: false, state: 'draining', reason: 'weight 0 (draining)' }
    if (this.maintenance) return { eligible: false, state: 'draining', reason: 'maintenance' }
    if (this.reportedMaintenance) return { eligible: false, state: 'draining', reason: `maintenance (announced by node ${this.node ?? '?'})` }
    const refused = this.refusal(now)
    if (refused !== undefined) return { eligible: false, state: 'ejected', reason: refused }
    if (this.activeHealth === 'unhealthy') return { eligible: false, state: 'unhealthy', reason: this.activeReason || 'health check failing' }
    if (this.ejectedUntil > now) return { eligible: false, state: 'ejected', reason: this.ejectionReason || 'ejected by outlier detection' }
    const b = this.breaker
    if (b.kind === 'open') return { eligible: false, state: 'ejected', reason: 'circuit breaker open' }
    if (b.kind === 'half-open' && b.trial !== 0) return { eligible: false, state: 'ejected', reason: 'circuit breaker half-open: trial request in flight' }
    return { eligible: true, state: 'healthy', reason: b.kind === 'half-open' ? 'breaker half-open (trial)' : 'ok' }
  }

  hasTags(required: readonly string[]): boolean {
    for (const t of required) if (!this.tags.includes(t)) return false
    return true
  }
}
