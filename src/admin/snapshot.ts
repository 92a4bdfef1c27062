/**
 * The compact state the dashboard shows, built once per tick whatever the number of viewers:
 * node, readiness, members, services, endpoints, recent alerts, and per endpoint short series
 * (req/s, errors, p99) taken from the retained history for the sparklines. An endpoint's history
 * is read again only when a history bucket has completed since the last read (the series holds
 * complete buckets only), or every `seriesRefreshMs` while it has none; for at most `maxSeries`
 * endpoints.
 */
import type { Clock } from '../clock.js'
import type { AdminSource, AlertView, EndpointView, HistoryView, MemberView, NodeView, Readiness, ServiceView } from './view.js'

export interface SeriesView {
  /** Wall ms of the first point's bucket. */
  readonly start: number
  readonly bucketMs: number
  /** Complete buckets only, oldest first. */
  readonly rps: readonly number[]
  readonly errors: readonly number[]
  readonly p99: readonly (number | null)[]
}

export interface StateSnapshot {
  /** Wall ms when built. */
  readonly t: number
  readonly node: NodeView & { readonly uptimeMs: number }
  readonly readiness: Readiness
  readonly members: readonly MemberView[]
  readonly services: readonly ServiceView[]
  readonly endpoints: readonly EndpointView[]
  readonly alerts: readonly AlertView[]
  readonly series: Readonly<Record<string, SeriesView>>
  /** Endpoints left out because there were more than `maxEndpoints`. */
  readonly omittedEndpoints: number
}

export interface SnapshotOptions {
  /** Points per sparkline. Default 60. */
  readonly seriesPoints?: number
  /** How often the history of an endpoint without one (yet) is looked for again. Default 5000 ms. */
  readonly seriesRefreshMs?: number
  /** Endpoints that get sparklines. Default 200. */
  readonly maxSeries?: number
  readonly maxEndpoints?: number
  readonly maxAlerts?: number
}

interface CachedSeries {
  readonly at: number
  readonly series: SeriesView | undefined
}

export class SnapshotBuilder {
  private readonly source: AdminSource
  private readonly clock: Clock
  private readonly points: number
  private readonly refreshMs: number
  private readonly maxSeries: number
  private readonly maxEndpoints: number
  private readonly maxAlerts: number
  private readonly cache = new Map<string, CachedSeries>()

  constructor(source: AdminSource, clock: Clock, options: SnapshotOptions = {}) {
    this.source = source
    this.clock = clock
    this.points = options.seriesPoints ?? 60
    this.refreshMs = options.seriesRefreshMs ?? 5000
    this.maxSeries = options.maxSeries ?? 200
    this.maxEndpoints = options.maxEndpoints ?? 2000
    this.maxAlerts = options.maxAlerts ?? 50
  }

  build(): StateSnapshot {
    const now = this.clock.wallNow()
    const node = this.source.node()
    const all = this.source.endpoints()
    const shown = all.length > this.maxEndpoints ? all.slice(0, this.maxEndpoints) : all
    const series: Record<string, SeriesView> = {}
    const seen = new Set<string>()
    const endpoints = shown.map((ep, i) => {
      seen.add(ep.id)
      const s = i < this.maxSeries ? this.seriesOf(ep.id, now) : undefined
      if (!s) return ep
      series[ep.id] = s
      if (ep.rps !== undefined || s.rps.length === 0) return ep
      return { ...ep, rps: s.rps[s.rps.length - 1]!, p99Ms: s.p99[s.p99.length - 1] ?? null }
    })
    for (const id of this.cache.keys()) if (!seen.has(id)) this.cache.delete(id)
    return {
      t: now,
      node: { ...node, uptimeMs: Math.max(0, now - node.startedAt) },
      readiness: this.source.readiness(),
      members: this.source.members(),
      services: this.source.services(),
      endpoints,
      alerts: this.source.alerts().slice(0, this.maxAlerts),
      series,
      omittedEndpoints: all.length - shown.length,
    }
  }

  private seriesOf(id: string, now: number): SeriesView | undefined {
    const hit = this.cache.get(id)
    if (hit && !this.stale(hit, now)) return hit.series
    const since = hit?.series ? now - (this.points + 2) * hit.series.bucketMs : undefined
    const h = this.source.endpointHistory(id, since)
    const s = h ? toSeries(h, now, this.points) : undefined
    this.cache.set(id, { at: now, series: s })
    return s
  }

  /** A new bucket completed since the series was read (buckets are aligned to wall-clock multiples). */
  private stale(hit: CachedSeries, now: number): boolean {
    const b = hit.series?.bucketMs
    if (b === undefined || b <= 0) return now - hit.at >= this.refreshMs
    return Math.floor(now / b) !== Math.floor(hit.at / b)
  }
}

/** The last `points` complete buckets of a history as rates. */
export function toSeries(h: HistoryView, now: number, points: number): SeriesView {
  const complete = h.buckets.filter((b) => b.start + h.bucketMs <= now)
  const last = complete.slice(-points)
  const perSecond = 1000 / h.bucketMs
  return {
    start: last.length > 0 ? last[0]!.start : now,
    bucketMs: h.bucketMs,
    rps: last.map((b) => Math.round(b.requests * perSecond * 100) / 100),
    errors: last.map((b) => b.errors),
    p99: last.map((b) => b.p99),
  }
}
