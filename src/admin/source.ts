/**
 * Builds the AdminSource from the sidecar's parts. What is not wired yet has a null default:
 * no gossip -> the member list is this node alone; no health history -> a known endpoint has an
 * empty history; no alert evaluator -> no alerts. The config is redacted once per config object.
 */
import type { SidecarConfig } from '../config/types.js'
import type { ServiceEndpoints } from '../endpoint/service-endpoints.js'
import type { AdminSource, AlertView, CertificateView, HistoryView, MemberView, NodeView, Readiness } from './view.js'
import { endpointView, redactConfig, serviceView } from './views.js'
import type { GoldenReader } from './golden-signals.js'

/** Numbers from the retained history for one endpoint (last complete window). */
export interface EndpointRates {
  readonly rps: number
  readonly p99Ms: number | null
}

export interface HistoryReader {
  endpointHistory(id: string, sinceMs?: number): HistoryView | undefined
  /** Optional: current rates, shown in /v1/endpoints and the dashboard. */
  rates?(id: string): EndpointRates | undefined
}

export interface AdminSourceParts {
  /** commy's package version. */
  readonly version: string
  /** The active config (changes on reload). */
  readonly config: () => SidecarConfig
  readonly services: () => Iterable<ServiceEndpoints>
  /** Clock ms, the time base of endpoint timers (Clock.now). */
  readonly now: () => number
  /** Wall ms when the sidecar started. */
  readonly startedAt: () => number
  readonly draining: () => boolean
  readonly readiness: () => Readiness
  /** Gossip members; default: this node alone. */
  readonly members?: () => readonly MemberView[]
  readonly history?: HistoryReader
  /** Recent alerts, newest first; default none. */
  readonly alerts?: () => readonly AlertView[]
  /** The mesh certificates loaded now; default none. */
  readonly certificates?: () => readonly CertificateView[]
  /** Golden signals (success rate, rps, p50, p99 over the last minute); default: history rates only. */
  readonly golden?: GoldenReader
}

export function createAdminSource(parts: AdminSourceParts): AdminSource {
  const redacted = new WeakMap<SidecarConfig, Record<string, unknown>>()
  const node = (): NodeView => {
    const c = parts.config()
    return {
      name: c.node.name,
      zone: c.node.zone ?? null,
      version: parts.version,
      configVersion: c.version,
      startedAt: parts.startedAt(),
      draining: parts.draining(),
      tls: nodeTls(parts.certificates?.() ?? []),
    }
  }
  return {
    node,
    readiness: parts.readiness,
    members() {
      if (parts.members) return parts.members()
      const c = parts.config()
      return [
        {
          name: c.node.name,
          address: '',
          state: parts.draining() ? 'left' : 'alive',
          incarnation: 0,
          zone: c.node.zone ?? null,
          services: c.local.services.map((s) => s.name),
          self: true,
        },
      ]
    },
    services() {
      const now = parts.now()
      const cfg = parts.config().services
      const golden = parts.golden
      return [...parts.services()].map((s) =>
        serviceView(s.name, cfg[s.name]?.strategy ?? 'unknown', cfg[s.name]?.protocol ?? 'http1', s.snapshot, now, golden?.service(s.name, s.snapshot.all.map((ep) => ep.id))),
      )
    },
    endpoints() {
      const now = parts.now()
      const out = []
      for (const s of parts.services()) {
        for (const ep of s.snapshot.all) out.push(endpointView(ep, now, parts.golden?.endpoint(ep.id) ?? parts.history?.rates?.(ep.id)))
      }
      return out
    },
    endpointHistory(id, sinceMs) {
      const h = parts.history?.endpointHistory(id, sinceMs)
      if (h) return h
      for (const s of parts.services()) {
        for (const ep of s.snapshot.all) {
          if (ep.id === id) return { id, bucketMs: parts.config().health.historyBucketMs, buckets: [], transitions: [] }
        }
      }
      return undefined
    },
    alerts: () => parts.alerts?.() ?? [],
    certificates: () => parts.certificates?.() ?? [],
    routes: parts.golden && (() => parts.golden!.routes(parts.config())),
    config() {
      const c = parts.config()
      let r = redacted.get(c)
      if (!r) redacted.set(c, (r = redactConfig(c)))
      return r
    },
  }
}

/** The node's identity and expiry: its own certificate (tls.cert), never key material. */
function nodeTls(certs: readonly CertificateView[]): NodeView['tls'] {
  const own = certs.find((c) => c.role === 'node')
  return own ? { identity: own.identity, notAfter: own.notAfter } : null
}
