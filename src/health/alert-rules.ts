/**
 * What each alert kind looks at. A rule check turns one service into observations, one per
 * subject (the service, or each endpoint), each with a Signal for the alert state machine:
 *
 * - error-rate:  errors / requests of the service's endpoints over the last `for` (at least one
 *                bucket); on when above the threshold with at least `minRequests` requests; off
 *                at or below RESOLVE_RATIO × threshold or with too few requests; hold in between.
 *                The window is the duration, so it fires at once when on and resolves at once
 *                when off (the band is the hysteresis).
 * - p99-latency: the same with the p99 merged over the window (ms).
 * - endpoint-unhealthy: per endpoint, on while it is unhealthy or ejected (breaker open
 *                included); fires after `for` and resolves after `for` healthy again.
 * - breaker-open: per endpoint, on while its breaker is open; `for` both ways.
 * - no-healthy-endpoint: per service, on while no endpoint is eligible on its own merits (panic
 *                routing does not count as healthy); `for` both ways.
 * - cert-expiring: a node rule (checked once, not per service): per loaded mesh certificate
 *                (subject: its service, or `ca`, and its file), on while it expires within
 *                `above` (ms); resolves when a rotation loads a later one. `for` both ways.
 */
import type { AlertKind, AlertRuleConfig } from '../config/types.js'
import type { Endpoint } from '../endpoint/endpoint.js'
import { parseSpiffeId } from '../tls/identity.js'
import type { AlertTiming, Signal } from './alert-state.js'
import type { WindowStats } from './history.js'

/** A threshold alert resolves once its value is at or below this fraction of the threshold. */
export const RESOLVE_RATIO = 0.8

/** The read-only view of a service the evaluator needs. */
export interface AlertService {
  readonly name: string
  readonly endpoints: readonly Endpoint[]
}

/** Windowed totals (History implements it). */
export interface WindowSource {
  windowStats(ids: Iterable<string>, windowMs: number): WindowStats
}

export interface Observation {
  readonly service: string
  readonly endpoint: string | undefined
  readonly signal: Signal
  readonly value: number
  readonly threshold: number
  /** One line for people, e.g. `error rate 12.5% over 60s (40 requests) > 5%`. */
  readonly summary: string
}

/** A loaded certificate as cert-expiring sees it (tls/material.ts CertificateInfo satisfies it). */
export interface ExpiringCertificate {
  readonly file: string
  /** SPIFFE ID of a leaf; anything else (a CA's subject) counts as `ca`. */
  readonly identity: string
  /** Wall ms. */
  readonly notAfter: number
}

export interface RuleContext {
  readonly now: number
  /** Wall-clock ms (certificate expiry is wall time). */
  readonly wallNow: number
  readonly history: WindowSource | undefined
  readonly certificates: readonly ExpiringCertificate[]
}

/** Rules about this node rather than a service: checked once per evaluation (`rule.service` filters the subjects). */
export const NODE_RULES: ReadonlySet<AlertKind> = new Set<AlertKind>(['cert-expiring'])

export type RuleCheck = (rule: AlertRuleConfig, service: AlertService, ctx: RuleContext) => Observation[]

function band(value: number, threshold: number, enough: boolean): Signal {
  if (!enough || value <= threshold * RESOLVE_RATIO) return 'off'
  return value > threshold ? 'on' : 'hold'
}

const pct = (x: number): string => `${Math.round(x * 1000) / 10}%`

const errorRate: RuleCheck = (rule, svc, ctx) => {
  if (!ctx.history) return []
  const w = ctx.history.windowStats(svc.endpoints.map((e) => e.id), rule.forMs)
  const enough = w.requests >= Math.max(1, rule.minRequests)
  return [{
    service: svc.name,
    endpoint: undefined,
    signal: band(w.errorRate, rule.above, enough),
    value: w.errorRate,
    threshold: rule.above,
    summary: `error rate ${pct(w.errorRate)} over ${Math.round(w.windowMs / 1000)}s (${w.requests} requests), threshold ${pct(rule.above)}`,
  }]
}

const p99Latency: RuleCheck = (rule, svc, ctx) => {
  if (!ctx.history) return []
  const w = ctx.history.windowStats(svc.endpoints.map((e) => e.id), rule.forMs)
  const p99 = w.p99 ?? 0
  const enough = w.p99 !== null && w.requests >= Math.max(1, rule.minRequests)
  return [{
    service: svc.name,
    endpoint: undefined,
    signal: band(p99, rule.above, enough),
    value: p99,
    threshold: rule.above,
    summary: `p99 latency ${p99}ms over ${Math.round(w.windowMs / 1000)}s (${w.requests} requests), threshold ${rule.above}ms`,
  }]
}

const endpointUnhealthy: RuleCheck = (_rule, svc, ctx) =>
  svc.endpoints.map((ep) => {
    const e = ep.eligibility(ctx.now)
    const on = e.state === 'unhealthy' || e.state === 'ejected'
    return { service: svc.name, endpoint: ep.id, signal: on ? 'on' : 'off', value: on ? 1 : 0, threshold: 0, summary: `${ep.address} ${e.state}: ${e.reason}` }
  })

const breakerOpen: RuleCheck = (_rule, svc) =>
  svc.endpoints.map((ep) => {
    const on = ep.breaker.kind === 'open'
    return { service: svc.name, endpoint: ep.id, signal: on ? 'on' : 'off', value: on ? 1 : 0, threshold: 0, summary: `${ep.address} circuit breaker ${ep.breaker.kind}` }
  })

const noHealthyEndpoint: RuleCheck = (_rule, svc, ctx) => {
  let healthy = 0
  for (const ep of svc.endpoints) if (ep.eligibility(ctx.now).eligible) healthy++
  return [{
    service: svc.name,
    endpoint: undefined,
    signal: healthy === 0 ? 'on' : 'off',
    value: healthy,
    threshold: 0,
    summary: `${healthy} of ${svc.endpoints.length} endpoints healthy`,
  }]
}

const DAY = 86_400_000
const left = (ms: number): string => (Math.abs(ms) >= DAY ? `${Math.floor(ms / DAY)}d ${Math.floor((ms % DAY) / 3_600_000)}h` : `${Math.floor(ms / 3_600_000)}h ${Math.floor((ms % 3_600_000) / 60_000)}m`)

const certExpiring: RuleCheck = (rule, _node, ctx) =>
  ctx.certificates.map((c) => {
    const remaining = c.notAfter - ctx.wallNow
    return {
      service: parseSpiffeId(c.identity)?.service ?? 'ca',
      endpoint: c.file,
      signal: remaining <= rule.above ? 'on' : 'off',
      value: remaining,
      threshold: rule.above,
      summary: `${c.identity} (${c.file}) expires ${new Date(c.notAfter).toISOString()}${remaining > 0 ? `, in ${left(remaining)}` : ' (expired)'}; threshold ${left(rule.above)}`,
    }
  })

export const RULE_CHECKS: Readonly<Record<AlertKind, RuleCheck>> = Object.freeze({
  'error-rate': errorRate,
  'p99-latency': p99Latency,
  'endpoint-unhealthy': endpointUnhealthy,
  'breaker-open': breakerOpen,
  'no-healthy-endpoint': noHealthyEndpoint,
  'cert-expiring': certExpiring,
})

/** Windowed rules carry their duration in the window; state rules wait `for` both ways. */
export function timingOf(rule: AlertRuleConfig): AlertTiming {
  if (rule.when === 'error-rate' || rule.when === 'p99-latency') return { fireAfterMs: 0, resolveAfterMs: 0 }
  return { fireAfterMs: rule.forMs, resolveAfterMs: rule.forMs }
}
