/**
 * What the admin server reads, and the JSON shapes it answers with. The admin side only reads
 * (`AdminSource`); steering (reload, drain) goes through the `AdminActions` callbacks. The
 * composition root adapts the real components (endpoint registry, membership, health history,
 * alerts) to these; tests use a fake. Every time shown here is wall-clock epoch milliseconds.
 */
import type { BreakerKind, EndpointState } from '../endpoint/endpoint.js'
import type { MaintenanceTarget } from '../endpoint/maintenance.js'
import type { EndpointHistory, HistoryBucket } from '../health/history.js'
import type { TransitionRecord } from '../health/series.js'
import type { RoutesView } from './golden-signals.js'

export type { ListenerRoutesView, RouteView, RoutesView } from './golden-signals.js'

export type { BreakerKind, EndpointState }
export type MemberState = 'alive' | 'suspect' | 'dead' | 'left'

export const ENDPOINT_STATES: readonly EndpointState[] = Object.freeze(['healthy', 'unhealthy', 'ejected', 'draining'])
export const MEMBER_STATES: readonly MemberState[] = Object.freeze(['alive', 'suspect', 'dead', 'left'])
export const BREAKER_STATES: readonly BreakerKind[] = Object.freeze(['closed', 'half-open', 'open'])

export interface NodeView {
  readonly name: string
  readonly zone: string | null
  /** commy's package version. */
  readonly version: string
  /** The config's short hash (SidecarConfig.version). */
  readonly configVersion: string
  /** Wall ms when the sidecar started. */
  readonly startedAt: number
  /** True once a drain has begun. */
  readonly draining: boolean
  /** This node's mesh identity (tls.cert) and its expiry (wall ms); null without `tls`. Never key material. */
  readonly tls?: { readonly identity: string; readonly notAfter: number } | null
}

/** One loaded mesh certificate (no key material, never file contents). */
export interface CertificateView {
  /** node | listener | service | ca */
  readonly role: string
  readonly file: string
  /** SPIFFE ID of a leaf; subject and serial of a CA. */
  readonly identity: string
  /** Wall ms. */
  readonly notAfter: number
}

export interface Readiness {
  readonly ready: boolean
  /** Why not ready (config not loaded, listener not bound, gossip not joined, draining). */
  readonly reason?: string
}

export interface MemberView {
  readonly name: string
  /** Gossip address `host:port`. */
  readonly address: string
  readonly state: MemberState
  readonly incarnation: number
  readonly zone: string | null
  /** Names of the services the member offers. */
  readonly services: readonly string[]
  /** True for this sidecar's own entry. */
  readonly self: boolean
}

export interface ServiceView {
  readonly name: string
  readonly strategy: string
  /** How commy talks to its endpoints (`services.<name>.protocol`). */
  readonly protocol: 'http1' | 'http2'
  readonly endpoints: number
  /** Endpoints passing every health input (active check, breaker, ejection, not draining). */
  readonly healthy: number
  /** Endpoints the balancer picks from now (all non-draining ones in panic mode). */
  readonly eligible: number
  /** True when too few are healthy and all are used. */
  readonly panic: boolean
  /** Golden signals over the last minute (sliding), of client requests to the service (after retries). */
  readonly successRate?: number | null
  /** Success rate of every try to its endpoints over the last minute (before retries). */
  readonly trySuccessRate?: number | null
  /** gRPC calls since start by final grpc-status name (`{"OK": 12, "UNAVAILABLE": 3}`); absent before the first. */
  readonly grpcStatus?: Readonly<Record<string, number>>
  /** Requests per second over the last minute. */
  readonly rps?: number
  readonly p50Ms?: number | null
  readonly p99Ms?: number | null
}

export interface EndpointView {
  /** `service~host:port`; URL-encode it for `/v1/endpoints/{id}/history`. */
  readonly id: string
  readonly service: string
  readonly address: string
  readonly state: EndpointState
  /** Why it is in that state ('ok' when healthy). */
  readonly reason: string
  readonly eligible: boolean
  /** Taken out of rotation by an operator, here or by the node that announces it (state `draining`). */
  readonly maintenance: boolean
  readonly breaker: BreakerKind
  readonly inFlight: number
  /** Peak-EWMA latency in ms; null before the first response. */
  readonly ewmaLatencyMs: number | null
  readonly weight: number
  /** Weight after slow start and mesh health. */
  readonly effectiveWeight: number
  readonly zone: string | null
  readonly tags: readonly string[]
  /** Gossip node that announced it, if any. */
  readonly node: string | null
  readonly source: string
  /** Totals since the endpoint appeared. */
  readonly requests: number
  readonly failures: number
  /** Golden signals of its tries over the last minute (sliding; null with no try); without them, rps/p99 of the last complete history bucket. */
  readonly successRate?: number | null
  readonly rps?: number
  readonly p50Ms?: number | null
  readonly p99Ms?: number | null
}

/** The health history shapes, served as they are (admin -> health only). */
export type HistoryBucketView = HistoryBucket
export type TransitionView = TransitionRecord
export type HistoryView = EndpointHistory

export interface AlertView {
  /** Rule name. */
  readonly name: string
  readonly rule: string
  readonly service: string | null
  readonly endpoint?: string
  readonly state: 'firing' | 'resolved'
  readonly severity: 'warning' | 'critical'
  readonly value: number
  readonly threshold: number
  readonly startedAt: number
  readonly resolvedAt?: number
  readonly node: string
}

export interface ReloadResult {
  readonly ok: boolean
  /** New config version when ok. */
  readonly version?: string
  /** Why it was refused (file:line messages) when not ok. */
  readonly error?: string
}

/** The read-only view of a sidecar the admin server shows. Calls must be cheap and synchronous. */
export interface AdminSource {
  node(): NodeView
  readiness(): Readiness
  /** Gossip members, this node included; just this node when gossip is off. */
  members(): readonly MemberView[]
  services(): readonly ServiceView[]
  endpoints(): readonly EndpointView[]
  /** Retained history of one endpoint from `sinceMs` (wall ms); undefined when the id is unknown. */
  endpointHistory(id: string, sinceMs?: number): HistoryView | undefined
  /** Recent alerts, newest first. */
  alerts(): readonly AlertView[]
  /** The active config with secrets redacted (see `redactConfig`). */
  config(): unknown
  /** The mesh certificates loaded now; none without `tls` (or when not wired). */
  certificates?(): readonly CertificateView[]
  /** Listeners and their routes with golden signals (`GET /v1/routes`); undefined when not wired. */
  routes?(): RoutesView
}

/** What a maintenance action did: the endpoint or service, and whether anything changed. */
export interface MaintenanceResult {
  readonly target: MaintenanceTarget
  /** Endpoint id or local service name. */
  readonly id: string
  readonly maintenance: boolean
  /** False when it already was so. */
  readonly changed: boolean
  /** The local service whose announcement carries the flag (gossiped to every sidecar), if any. */
  readonly local?: string
}

/** Steering callbacks. Each must be safe to call more than once. */
export interface AdminActions {
  /** Validates and applies the config file again; a refused config leaves the old one serving. */
  reload(): Promise<ReloadResult>
  /** /readyz fails, peers learn the node leaves, in-flight finishes, listeners close. */
  drain(): Promise<void>
  /** Reverses a drain (waiting for one in progress): listeners accept, /readyz 200, gossip re-joins. False when not draining. */
  undrain(): Promise<boolean>
  /** Maintenance on or off for an endpoint (by id) or a local service (by name); undefined when there is no such one. */
  maintenance(target: MaintenanceTarget, id: string, on: boolean): MaintenanceResult | undefined
}
