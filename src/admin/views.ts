/**
 * Builders from the live objects to the admin JSON views, and config redaction.
 * Pure functions: they read, never change, what they are given.
 */
import { REDACTED, SENSITIVE_HEADER } from '../config/secrets.js'
import type { Endpoint } from '../endpoint/endpoint.js'
import type { EndpointSnapshot } from '../endpoint/service-endpoints.js'
import type { SidecarConfig } from '../config/types.js'
import type { EndpointView, ServiceView } from './view.js'


/** The admin view of one endpoint; `now` is the clock the endpoint's timers use (Clock.now()). */
export function endpointView(ep: Endpoint, now: number, extra?: Extra): EndpointView {
  const e = ep.eligibility(now)
  const ewma = ep.latency.get(now)
  const view: EndpointView = {
    id: ep.id,
    service: ep.service,
    address: ep.address,
    state: e.state,
    reason: e.reason,
    eligible: e.eligible,
    maintenance: ep.inMaintenance,
    breaker: ep.breaker.kind,
    inFlight: ep.inFlight,
    ewmaLatencyMs: ewma === undefined ? null : round3(ewma),
    weight: ep.weight,
    effectiveWeight: round3(ep.effectiveWeight(now)),
    zone: ep.zone ?? null,
    tags: [...ep.tags],
    node: ep.node ?? null,
    source: ep.source,
    requests: ep.requests,
    failures: ep.failures,
  }
  return withExtra(view, extra)
}

/** Golden signals (or history rates) added to a view. */
type Extra = {
  successRate?: number | null
  trySuccessRate?: number | null
  rps?: number
  p50Ms?: number | null
  p99Ms?: number | null
  grpcStatus?: Readonly<Record<string, number>>
}

function withExtra<V extends object>(view: V, extra: Extra | undefined): V & Extra {
  if (extra?.rps === undefined) return view
  const out: V & Extra = { ...view }
  if (extra.successRate !== undefined) out.successRate = extra.successRate
  if (extra.trySuccessRate !== undefined) out.trySuccessRate = extra.trySuccessRate
  out.rps = extra.rps
  if (extra.p50Ms !== undefined) out.p50Ms = extra.p50Ms
  out.p99Ms = extra.p99Ms ?? null
  if (extra.grpcStatus !== undefined) out.grpcStatus = extra.grpcStatus
  return out
}

/** The admin view of one service from its endpoint snapshot. */
export function serviceView(
  name: string,
  strategy: string,
  protocol: 'http1' | 'http2',
  snap: EndpointSnapshot,
  now: number,
  extra?: Extra,
): ServiceView {
  let healthy = 0
  for (const ep of snap.all) if (ep.eligibility(now).eligible) healthy++
  const view: ServiceView = {
    name,
    strategy,
    protocol,
    endpoints: snap.all.length,
    healthy,
    eligible: snap.eligible.length,
    panic: snap.panic,
  }
  return withExtra(view, extra)
}

/**
 * A JSON-able copy of the config with secrets replaced by "[redacted]": the admin token, gossip
 * keys (only their count stays visible), every webhook header and the path/query of webhook URLs
 * (Slack-style URLs carry the secret in the path), and health-check headers whose name looks
 * like a credential. The input is not changed.
 */
export function redactConfig(config: SidecarConfig): Record<string, unknown> {
  const plain = toPlain(config) as Record<string, unknown> & PlainSecrets
  if (plain.admin && config.admin.token !== undefined) plain.admin.token = REDACTED
  if (plain.gossip && config.gossip) plain.gossip.keys = config.gossip.keys.map(() => REDACTED)
  for (const wh of plain.alerts?.webhooks ?? []) {
    wh.url = redactUrl(wh.url)
    for (const k of Object.keys(wh.headers ?? {})) wh.headers[k] = REDACTED
  }
  for (const svc of Object.values(plain.services ?? {})) redactHeaders(svc.healthCheck?.headers)
  for (const svc of plain.local?.services ?? []) redactHeaders(svc.healthCheck?.headers)
  const otlp = plain.tracing?.otlp
  if (otlp) for (const k of Object.keys(otlp.headers)) otlp.headers[k] = REDACTED
  return plain
}

/** Where the plain copy of a SidecarConfig carries secrets. */
interface PlainSecrets {
  admin?: { token?: unknown }
  gossip?: { keys?: unknown }
  alerts?: { webhooks?: { url: string; headers: Record<string, string> }[] }
  services?: Record<string, { healthCheck?: { headers?: Record<string, string> } }>
  local?: { services?: { healthCheck?: { headers?: Record<string, string> } }[] }
  tracing?: { otlp: { headers: Record<string, string> } }
}

function redactHeaders(headers: Record<string, string> | undefined): void {
  if (!headers) return
  for (const k of Object.keys(headers)) if (SENSITIVE_HEADER.test(k)) headers[k] = REDACTED
}

function redactUrl(url: string): string {
  try {
    const u = new URL(url)
    const tail = u.pathname !== '/' || u.search !== '' ? `/${REDACTED}` : '/'
    return `${u.protocol}//${u.host}${tail}`
  } catch {
    return REDACTED
  }
}

/** Deep copy into plain JSON values; Buffers (key material) never leave as bytes. */
function toPlain(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v
  if (Buffer.isBuffer(v) || ArrayBuffer.isView(v)) return REDACTED
  if (Array.isArray(v)) return v.map(toPlain)
  const out: Record<string, unknown> = {}
  for (const [k, val] of Object.entries(v)) if (val !== undefined) out[k] = toPlain(val)
  return out
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000
}
