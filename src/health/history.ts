/**
 * Health history: per endpoint, a retained time series in fixed buckets (default 10 s × 1 h):
 * requests, errors, latency percentiles from a log-linear histogram (histogram.ts), active-check
 * results, and a bounded list of state transitions with their reasons. Storage per endpoint is
 * the typed arrays of series.ts (about 14 KB with the defaults), so 1,000 endpoints stay far
 * below 50 MB; at most `maxEndpoints` series are kept (the least recently written is dropped).
 *
 * `record()` is the hot path: O(1), no allocation once the endpoint's series exists.
 * Times given to the writers are clock ms (Clock.now); everything read back is wall ms, with
 * buckets aligned to wall-clock multiples of the bucket length.
 */
import type { Clock } from '../clock.js'
import type { AlertsConfig, HealthConfig } from '../config/types.js'
import type { Endpoint } from '../endpoint/endpoint.js'
import { BINS, binOf, binValueMs, histogramTotal, quantileBin } from './histogram.js'
import { QUANTILES, Series, type TransitionRecord } from './series.js'

export interface HistoryOptions {
  readonly bucketMs: number
  readonly retentionMs: number
  readonly clock: Clock
  /** How far back full histograms are kept, for exact percentiles over a window (default 60 s). */
  readonly detailMs?: number
  /** Transitions kept per endpoint (default 50). */
  readonly maxTransitions?: number
  /** Series kept at most (default 2,000). */
  readonly maxEndpoints?: number
}

export interface HistoryBucket {
  /** Wall ms at which the bucket starts. */
  readonly start: number
  readonly requests: number
  readonly errors: number
  /** Latency percentiles in ms; null when the bucket saw no request. */
  readonly p50: number | null
  readonly p90: number | null
  readonly p99: number | null
  readonly checksOk: number
  readonly checksFailed: number
}

export type HistoryTransition = TransitionRecord

export interface EndpointHistory {
  readonly id: string
  readonly bucketMs: number
  /** Oldest first; the last one is still filling. Idle buckets are present with zeros. */
  readonly buckets: readonly HistoryBucket[]
  /** Oldest first. */
  readonly transitions: readonly HistoryTransition[]
}

export interface WindowStats {
  /** Length actually covered, ms (less than asked for when the series is younger). */
  readonly windowMs: number
  readonly requests: number
  readonly errors: number
  /** errors / requests; 0 without requests. */
  readonly errorRate: number
  readonly rps: number
  readonly checksOk: number
  readonly checksFailed: number
  /** Over the part of the window still in the detail ring; null without requests there. */
  readonly p50: number | null
  readonly p90: number | null
  readonly p99: number | null
}

export interface EndpointSummary extends WindowStats {
  readonly id: string
  /** Current state: from the endpoint when given, else the last recorded transition ('unknown'). */
  readonly state: string
  readonly reason: string
}

export interface ServiceSummary {
  readonly service: string
  readonly endpoints: readonly EndpointSummary[]
}

export interface EndpointRates {
  readonly rps: number
  readonly p99Ms: number | null
}

type Key = Endpoint | string

/** Options from the config: detail long enough for the longest p99 alert window (capped at retention). */
export function historyOptions(health: HealthConfig, clock: Clock, alerts?: AlertsConfig): HistoryOptions {
  let detailMs = 60_000
  for (const r of alerts?.rules ?? []) if (r.when === 'p99-latency') detailMs = Math.max(detailMs, r.forMs)
  return { bucketMs: health.historyBucketMs, retentionMs: health.historyRetentionMs, clock, detailMs: Math.min(detailMs, health.historyRetentionMs) }
}

export class History {
  readonly bucketMs: number
  private readonly clock: Clock
  private readonly n: number
  private readonly d: number
  private readonly maxTransitions: number
  private readonly maxEndpoints: number
  /** Wall ms minus clock ms, fixed at construction. */
  private readonly offset: number
  /** Bucket number (wall ms / bucketMs) just before the first one. */
  private readonly base: number
  private readonly series = new Map<string, Series>()
  private readonly byService = new Map<string, Set<Series>>()
  private readonly scratch = new Uint32Array(BINS)

  constructor(options: HistoryOptions) {
    if (!(options.bucketMs > 0) || options.retentionMs < options.bucketMs) throw new RangeError('history needs bucketMs > 0 and retentionMs >= bucketMs')
    this.bucketMs = options.bucketMs
    this.clock = options.clock
    this.n = Math.ceil(options.retentionMs / options.bucketMs)
    this.d = Math.min(this.n, Math.ceil((options.detailMs ?? 60_000) / options.bucketMs) + 1)
    this.maxTransitions = options.maxTransitions ?? 50
    this.maxEndpoints = options.maxEndpoints ?? 2_000
    this.offset = options.clock.wallNow() - options.clock.now()
    this.base = Math.floor(options.clock.wallNow() / options.bucketMs) - 1
  }

  // ---------------------------------------------------------------- writers

  /** One finished request (or try) of an endpoint. Hot path: O(1), allocation-free. */
  record(ep: Key, latencyMs: number, ok: boolean, now: number): void {
    const rel = this.rel(now)
    if (rel < 1) return
    this.seriesOf(ep, rel).addRequest(rel, binOf(latencyMs), ok)
  }

  /** One active-check result. */
  recordCheck(ep: Key, ok: boolean, now: number): void {
    const rel = this.rel(now)
    if (rel < 1) return
    this.seriesOf(ep, rel).addCheck(rel, ok)
  }

  /** A state change (healthy/unhealthy/ejected/breaker open/…), with its reason. */
  transition(ep: Key, from: string, to: string, reason: string, now: number): void {
    const rel = Math.max(1, this.rel(now))
    this.seriesOf(ep, rel).addTransition({ at: Math.round(now + this.offset), from, to, reason }, this.maxTransitions)
  }

  /** Drops an endpoint's history. */
  forget(id: string): void {
    const s = this.series.get(id)
    if (!s) return
    this.series.delete(id)
    const set = this.byService.get(s.service)
    set?.delete(s)
    if (set?.size === 0) this.byService.delete(s.service)
  }

  // ---------------------------------------------------------------- queries

  endpointIds(): string[] {
    return [...this.series.keys()]
  }

  /** One endpoint's retained buckets (from `since`, wall ms) and transitions; undefined when unknown. */
  endpointHistory(id: string, since?: number | { readonly since?: number }): EndpointHistory | undefined {
    const s = this.series.get(id)
    if (!s) return undefined
    const sinceMs = typeof since === 'number' ? since : since?.since
    const end = Math.max(s.cur, this.rel(this.clock.now()))
    let from = Math.max(s.first, end - this.n + 1)
    if (sinceMs !== undefined) from = Math.max(from, Math.floor(sinceMs / this.bucketMs) - this.base)
    const buckets: HistoryBucket[] = []
    for (let rel = from; rel <= end; rel++) buckets.push(this.bucketOf(s, rel))
    const transitions = sinceMs === undefined ? [...s.transitions] : s.transitions.filter((t) => t.at >= sinceMs)
    return { id, bucketMs: this.bucketMs, buckets, transitions }
  }

  /**
   * Totals over the last `windowMs` (the buckets it spans, the current partial one included) of
   * the given endpoints together. Percentiles merge the full histograms of the detail ring.
   */
  windowStats(ids: Iterable<string>, windowMs: number): WindowStats {
    const now = this.clock.now()
    const end = this.rel(now)
    const k = Math.max(1, Math.ceil(windowMs / this.bucketMs))
    const acc = this.scratch.fill(0)
    let requests = 0
    let errors = 0
    let ok = 0
    let failed = 0
    let first = end
    for (const id of ids) {
      const s = this.series.get(id)
      if (!s) continue
      const from = Math.max(s.first, end - k + 1, end - this.n + 1)
      first = Math.min(first, from)
      for (let rel = from; rel <= end; rel++) {
        requests += s.requests(rel)
        errors += s.errors(rel)
        ok += s.checksOk(rel)
        failed += s.checksFailed(rel)
        s.addHistogramTo(rel, acc)
      }
    }
    const covered = Math.max(1, now + this.offset - (first + this.base) * this.bucketMs)
    const total = histogramTotal(acc, 0)
    const q = (i: number): number | null => (total === 0 ? null : binValueMs(quantileBin(acc, 0, total, QUANTILES[i]!)))
    return {
      windowMs: Math.round(covered),
      requests,
      errors,
      errorRate: requests === 0 ? 0 : errors / requests,
      rps: (requests * 1000) / covered,
      checksOk: ok,
      checksFailed: failed,
      p50: q(0),
      p90: q(1),
      p99: q(2),
    }
  }

  /**
   * Per endpoint of a service: current state and the last minute's numbers. Pass the service's
   * endpoints to take the state from them (and list those without history yet).
   */
  serviceSummary(service: string, endpoints?: readonly Endpoint[], windowMs = 60_000): ServiceSummary {
    const out: EndpointSummary[] = []
    const now = this.clock.now()
    const ids = endpoints ? endpoints.map((e) => e.id) : [...(this.byService.get(service) ?? [])].map((s) => s.id)
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!
      const w = this.windowStats([id], windowMs)
      const ep = endpoints?.[i]
      const last = this.series.get(id)?.transitions.at(-1)
      const e = ep?.eligibility(now)
      out.push({ id, state: e?.state ?? last?.to ?? 'unknown', reason: e?.reason ?? last?.reason ?? '', ...w })
    }
    return { service, endpoints: out }
  }

  /** Requests/s and p99 over the last complete bucket (the admin endpoint list). */
  rates(id: string): EndpointRates | undefined {
    const s = this.series.get(id)
    if (!s) return undefined
    const rel = this.rel(this.clock.now()) - 1
    const bin = s.quantileBin(rel, 2)
    return { rps: (s.requests(rel) * 1000) / this.bucketMs, p99Ms: bin < 0 ? null : binValueMs(bin) }
  }

  /** Bytes held by the series' typed arrays (transitions not included; see memory tests). */
  memoryBytes(): number {
    let b = 0
    for (const s of this.series.values()) b += s.bytes()
    return b
  }

  // ---------------------------------------------------------------- internals

  private rel(now: number): number {
    return Math.floor((now + this.offset) / this.bucketMs) - this.base
  }

  private bucketOf(s: Series, rel: number): HistoryBucket {
    const requests = s.requests(rel)
    const q = (k: number): number | null => {
      if (requests === 0) return null
      const bin = s.quantileBin(rel, k)
      return bin < 0 ? null : binValueMs(bin)
    }
    return {
      start: (rel + this.base) * this.bucketMs,
      requests,
      errors: s.errors(rel),
      p50: q(0),
      p90: q(1),
      p99: q(2),
      checksOk: s.checksOk(rel),
      checksFailed: s.checksFailed(rel),
    }
  }

  private seriesOf(ep: Key, rel: number): Series {
    const id = typeof ep === 'string' ? ep : ep.id
    const s = this.series.get(id)
    if (s !== undefined) return s
    return this.create(id, typeof ep === 'string' ? serviceOfId(id) : ep.service, rel)
  }

  private create(id: string, service: string, rel: number): Series {
    if (this.series.size >= this.maxEndpoints) this.evictOldest()
    const s = new Series(id, service, this.n, this.d, rel)
    this.series.set(id, s)
    let set = this.byService.get(service)
    if (!set) this.byService.set(service, (set = new Set()))
    set.add(s)
    return s
  }

  private evictOldest(): void {
    let oldest: Series | undefined
    for (const s of this.series.values()) if (!oldest || s.cur < oldest.cur) oldest = s
    if (oldest) this.forget(oldest.id)
  }
}

/** `service~host:port` -> `service`. */
export function serviceOfId(id: string): string {
  const i = id.indexOf('~')
  return i < 0 ? id : id.slice(0, i)
}
