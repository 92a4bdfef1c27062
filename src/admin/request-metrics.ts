/**
 * Request counting on the hot path. prom-client hashes the label set on every `inc`/`observe`
 * (~350 ns each, cached `.labels()` children included), so per-request numbers are kept here in
 * plain typed arrays, one `RouteMetrics` per (listener, route, service), and turned into
 * Prometheus samples only at scrape time by collectors registered in the sidecar's Registry:
 * `commy_requests_total`, `commy_request_duration_seconds` (by status class: at most 6 classes
 * × (bounds + 3) series per route), `commy_request_bytes_total` and `commy_response_bytes_total`.
 * Each route also keeps the sliding last-minute window of the admin JSON (golden-window.ts) and
 * points at its service's try counters (golden-tries.ts).
 */
import { RequestWindow } from './golden-window.js'
import { ServiceTries } from './golden-tries.js'
import { CODE_CLASSES, NO_ENDPOINT, OTHER_ENDPOINT, codeClassIndex, scrapeCollector, type CodeClass, type Collector, type Sample } from './collector.js'
export { CODE_CLASSES, NO_ENDPOINT, OTHER_ENDPOINT, codeClassIndex, scrapeCollector, type CodeClass, type Collector, type Sample } from './collector.js'

/** A route the config declares: its series exist from 0 before any request. */
export interface RouteKey {
  readonly listener: string
  readonly route: string
  readonly service: string
}

/** Seconds; tuned for a proxy: sub-millisecond to half a minute. */
export const DEFAULT_DURATION_BUCKETS: readonly number[] = Object.freeze([
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
])

export class RouteMetrics {
  readonly listener: string
  readonly route: string
  readonly service: string
  /** Non-cumulative counts per code class and bucket: class c's buckets at [c × (bounds + 1), ...); the last of each is +Inf. */
  readonly buckets: Float64Array
  /** Seconds and requests per code class. */
  readonly sums = new Float64Array(CODE_CLASSES.length)
  readonly counts = new Float64Array(CODE_CLASSES.length)
  sum = 0
  count = 0
  /** Dropped by a reload (the route is gone): observers holding it look it up again. */
  retired = false
  /** Request body bytes sent upstream, response body bytes sent to the client. */
  bytesIn = 0
  bytesOut = 0
  /** The last minute's requests (admin JSON: success rate, rps, p50, p99). */
  readonly window: RequestWindow
  /** The try counters of the route's service (shared by every route to it). */
  readonly tries: ServiceTries
  private readonly byEndpoint = new Map<string, Float64Array>()
  private readonly bounds: readonly number[]
  private readonly maxEndpoints: number

  constructor(listener: string, route: string, service: string, bounds: readonly number[], maxEndpoints: number, now = 0, tries?: ServiceTries) {
    this.listener = listener
    this.route = route
    this.service = service
    this.bounds = bounds
    this.buckets = new Float64Array((bounds.length + 1) * CODE_CLASSES.length)
    this.maxEndpoints = maxEndpoints
    this.window = new RequestWindow(now)
    this.tries = tries ?? new ServiceTries(service, maxEndpoints)
  }

  /**
   * One finished request: `endpoint` is the address of the last endpoint tried (undefined when
   * none was picked), `status` the status sent to the client (0 when none), `seconds` its duration.
   * O(1) amortised, allocation-free once the endpoint has been seen.
   */
  done(endpoint: string | undefined, status: number, seconds: number): void {
    const key = endpoint ?? NO_ENDPOINT
    let counts = this.byEndpoint.get(key)
    if (counts === undefined) counts = this.add(key)
    const c = codeClassIndex(status)
    counts[c]!++
    this.count++
    this.sum += seconds
    this.counts[c]!++
    this.sums[c]! += seconds
    const b = this.bounds
    let i = 0
    while (i < b.length && seconds > b[i]!) i++
    this.buckets[c * (b.length + 1) + i]!++
  }

  /** Body bytes of one finished request. */
  traffic(bytesIn: number, bytesOut: number): void {
    this.bytesIn += bytesIn
    this.bytesOut += bytesOut
  }

  /** Drops the counts of an endpoint that left the service. */
  forget(endpoint: string): void {
    this.byEndpoint.delete(endpoint)
  }

  /** Requests counted for an endpoint, per code class (for tests and views). */
  countsOf(endpoint: string): Readonly<Record<CodeClass, number>> | undefined {
    const c = this.byEndpoint.get(endpoint)
    if (!c) return undefined
    return Object.fromEntries(CODE_CLASSES.map((k, i) => [k, c[i]!])) as Record<CodeClass, number>
  }

  reset(): void {
    this.byEndpoint.clear()
    this.buckets.fill(0)
    this.sums.fill(0)
    this.counts.fill(0)
    this.sum = 0
    this.count = 0
    this.bytesIn = 0
    this.bytesOut = 0
  }

  /** Endpoint labels counted so far (with "none" and "_other"), and the cap they are held to. */
  get endpointLabels(): number {
    return this.byEndpoint.size
  }

  get maxEndpointLabels(): number {
    return this.maxEndpoints
  }

  /** Whether requests were counted for this endpoint label. */
  has(endpoint: string): boolean {
    return this.byEndpoint.has(endpoint)
  }

  /** @internal */
  endpointCounts(): IterableIterator<[string, Float64Array]> {
    return this.byEndpoint.entries()
  }

  private add(key: string): Float64Array {
    if (this.byEndpoint.size >= this.maxEndpoints && key !== NO_ENDPOINT) {
      let other = this.byEndpoint.get(OTHER_ENDPOINT)
      if (!other) {
        other = new Float64Array(CODE_CLASSES.length)
        this.byEndpoint.set(OTHER_ENDPOINT, other)
      }
      return other
    }
    const counts = new Float64Array(CODE_CLASSES.length)
    this.byEndpoint.set(key, counts)
    return counts
  }
}

/** The code classes each known endpoint of a route shows from 0 (2xx..5xx). */
const ZERO_CLASSES: readonly number[] = Object.freeze([1, 2, 3, 4])
const FIVE_XX = 4

/**
 * `commy_requests_total{listener,route,service,endpoint,code_class}` read from the routes. Every
 * route shows `endpoint="none", code_class="5xx"` (no endpoint could be picked) and each endpoint
 * `known` lists for its service 2xx..5xx from 0, so rate() and ratios work before the first error.
 */
export function requestsCollector(name: string, help: string, routes: () => Iterable<RouteMetrics>, known: () => ReadonlyMap<string, readonly string[]> = () => new Map()): Collector {
  return scrapeCollector(
    name,
    help,
    'counter',
    () => {
      const values: Sample[] = []
      const byService = known()
      for (const r of routes()) {
        const labels = (endpoint: string, i: number) => ({ listener: r.listener, route: r.route, service: r.service, endpoint, code_class: CODE_CLASSES[i]! })
        for (const [endpoint, counts] of r.endpointCounts()) {
          for (let i = 0; i < CODE_CLASSES.length; i++) {
            if (counts[i] === 0 && !(endpoint === NO_ENDPOINT ? i === FIVE_XX : ZERO_CLASSES.includes(i))) continue
            values.push({ value: counts[i]!, labels: labels(endpoint, i) })
          }
        }
        if (!r.has(NO_ENDPOINT)) values.push({ value: 0, labels: labels(NO_ENDPOINT, FIVE_XX) })
        let room = r.maxEndpointLabels - r.endpointLabels
        for (const endpoint of byService.get(r.service) ?? []) {
          if (room <= 0) break
          if (r.has(endpoint)) continue
          room--
          for (const i of ZERO_CLASSES) values.push({ value: 0, labels: labels(endpoint, i) })
        }
      }
      return values
    },
    () => {
      for (const r of routes()) r.reset()
    },
  )
}

/** `commy_request_duration_seconds{listener,route,service,code_class}` read from the routes (classes seen only). */
export function durationCollector(name: string, help: string, bounds: readonly number[], routes: () => Iterable<RouteMetrics>): Collector {
  const les = bounds.map(String)
  const width = bounds.length + 1
  return scrapeCollector(
    name,
    help,
    'histogram',
    () => {
      const values: Sample[] = []
      for (const r of routes()) {
        for (let c = 0; c < CODE_CLASSES.length; c++) {
          const count = r.counts[c]!
          if (count === 0) continue
          const base = { listener: r.listener, route: r.route, service: r.service, code_class: CODE_CLASSES[c]! }
          let acc = 0
          for (let i = 0; i < les.length; i++) {
            acc += r.buckets[c * width + i]!
            values.push({ metricName: `${name}_bucket`, value: acc, labels: { ...base, le: les[i]! } })
          }
          values.push({ metricName: `${name}_bucket`, value: count, labels: { ...base, le: '+Inf' } })
          values.push({ metricName: `${name}_sum`, value: r.sums[c]!, labels: base })
          values.push({ metricName: `${name}_count`, value: count, labels: base })
        }
      }
      return values
    },
    () => {
      for (const r of routes()) r.reset()
    },
  )
}

/** `commy_request_bytes_total` / `commy_response_bytes_total{listener,route,service}`: every route from 0. */
export function bytesCollector(name: string, help: string, direction: 'in' | 'out', routes: () => Iterable<RouteMetrics>): Collector {
  return scrapeCollector(
    name,
    help,
    'counter',
    () => {
      const values: Sample[] = []
      for (const r of routes()) {
        values.push({ value: direction === 'in' ? r.bytesIn : r.bytesOut, labels: { listener: r.listener, route: r.route, service: r.service } })
      }
      return values
    },
  )
}
