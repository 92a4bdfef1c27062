/**
 * Request counting on the hot path. prom-client hashes the label set on every `inc`/`observe`
 * (~350 ns each, cached `.labels()` children included), so per-request numbers are kept here in
 * plain typed arrays, one `RouteMetrics` per (listener, route, service), and turned into
 * Prometheus samples only at scrape time by two collectors registered in the sidecar's Registry:
 * `commy_requests_total` and `commy_request_duration_seconds`.
 */
export const CODE_CLASSES = Object.freeze(['1xx', '2xx', '3xx', '4xx', '5xx', 'error'] as const)
export type CodeClass = (typeof CODE_CLASSES)[number]

/** Label value used when no endpoint was picked (no route, no healthy endpoint, overload). */
export const NO_ENDPOINT = 'none'
/** Label value endpoints beyond the per-route cap are counted under (bounded cardinality). */
export const OTHER_ENDPOINT = '_other'

/** Seconds; tuned for a proxy: sub-millisecond to half a minute. */
export const DEFAULT_DURATION_BUCKETS: readonly number[] = Object.freeze([
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
])

/** 0..4 for 1xx..5xx, 5 when there was no valid HTTP status (0: connection failed, aborted). */
export function codeClassIndex(status: number): number {
  return status >= 100 && status < 600 ? ((status / 100) | 0) - 1 : 5
}

export class RouteMetrics {
  readonly listener: string
  readonly route: string
  readonly service: string
  /** Non-cumulative counts per bucket; the last slot is +Inf. */
  readonly buckets: Float64Array
  sum = 0
  count = 0
  private readonly byEndpoint = new Map<string, Float64Array>()
  private readonly bounds: readonly number[]
  private readonly maxEndpoints: number

  constructor(listener: string, route: string, service: string, bounds: readonly number[], maxEndpoints: number) {
    this.listener = listener
    this.route = route
    this.service = service
    this.bounds = bounds
    this.buckets = new Float64Array(bounds.length + 1)
    this.maxEndpoints = maxEndpoints
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
    counts[codeClassIndex(status)]!++
    this.count++
    this.sum += seconds
    const b = this.bounds
    let i = 0
    while (i < b.length && seconds > b[i]!) i++
    this.buckets[i]!++
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
    this.sum = 0
    this.count = 0
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

/** One sample line as prom-client's Registry formats it. */
export interface Sample {
  readonly value: number
  readonly labels: Readonly<Record<string, string>>
  readonly metricName?: string
}

/**
 * The shape prom-client's Registry serialises (`get()` / `reset()`), for metrics whose numbers
 * live outside prom-client. Registered with `registry.registerMetric(collector as never)`.
 */
export interface Collector {
  readonly name: string
  readonly help: string
  readonly type: 'counter' | 'histogram'
  readonly aggregator: 'sum'
  get(): Promise<{ name: string; help: string; type: string; aggregator: 'sum'; values: Sample[] }>
  reset(): void
}

/** `commy_requests_total{listener,route,service,endpoint,code_class}` read from the routes. */
export function requestsCollector(name: string, help: string, routes: () => Iterable<RouteMetrics>): Collector {
  return {
    name,
    help,
    type: 'counter',
    aggregator: 'sum',
    // eslint-disable-next-line @typescript-eslint/require-await -- prom-client's async collector contract; a throw must reject
    async get() {
      const values: Sample[] = []
      for (const r of routes()) {
        for (const [endpoint, counts] of r.endpointCounts()) {
          for (let i = 0; i < CODE_CLASSES.length; i++) {
            if (counts[i] === 0) continue
            values.push({
              value: counts[i]!,
              labels: { listener: r.listener, route: r.route, service: r.service, endpoint, code_class: CODE_CLASSES[i]! },
            })
          }
        }
      }
      return { name, help, type: 'counter', aggregator: 'sum', values }
    },
    reset() {
      for (const r of routes()) r.reset()
    },
  }
}

/** `commy_request_duration_seconds{listener,route,service}` read from the routes. */
export function durationCollector(name: string, help: string, bounds: readonly number[], routes: () => Iterable<RouteMetrics>): Collector {
  const les = bounds.map(String)
  return {
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    // eslint-disable-next-line @typescript-eslint/require-await -- prom-client's async collector contract; a throw must reject
    async get() {
      const values: Sample[] = []
      for (const r of routes()) {
        if (r.count === 0) continue
        const base = { listener: r.listener, route: r.route, service: r.service }
        let acc = 0
        for (let i = 0; i < les.length; i++) {
          acc += r.buckets[i]!
          values.push({ metricName: `${name}_bucket`, value: acc, labels: { ...base, le: les[i]! } })
        }
        values.push({ metricName: `${name}_bucket`, value: r.count, labels: { ...base, le: '+Inf' } })
        values.push({ metricName: `${name}_sum`, value: r.sum, labels: base })
        values.push({ metricName: `${name}_count`, value: r.count, labels: base })
      }
      return { name, help, type: 'histogram', aggregator: 'sum', values }
    },
    reset() {
      for (const r of routes()) r.reset()
    },
  }
}
