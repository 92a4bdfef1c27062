/**
 * What the scrape-time collectors share: the status classes of request and try counters, the
 * bounded endpoint label values, and the shape prom-client serialises for metrics whose numbers
 * live outside prom-client (request-metrics.ts, golden-tries.ts, golden-metrics.ts).
 */
export const CODE_CLASSES = Object.freeze(['1xx', '2xx', '3xx', '4xx', '5xx', 'error'] as const)
export type CodeClass = (typeof CODE_CLASSES)[number]

/** Label value used when no endpoint was picked (no route, no healthy endpoint, overload). */
export const NO_ENDPOINT = 'none'
/** Label value endpoints beyond the per-route cap are counted under (bounded cardinality). */
export const OTHER_ENDPOINT = '_other'

/** 0..4 for 1xx..5xx, 5 when there was no valid HTTP status (0: connection failed, aborted). */
export function codeClassIndex(status: number): number {
  return status >= 100 && status < 600 ? ((status / 100) | 0) - 1 : 5
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
  readonly type: 'counter' | 'gauge' | 'histogram'
  readonly aggregator: 'sum'
  get(): Promise<{ name: string; help: string; type: string; aggregator: 'sum'; values: Sample[] }>
  reset(): void
}


/**
 * A Collector whose samples are computed at scrape time by `values` (a throw rejects the scrape);
 * `reset` clears the numbers behind it (the Registry's resetMetrics, tests).
 */
export function scrapeCollector(name: string, help: string, type: Collector['type'], values: () => Sample[], reset: () => void = () => {}): Collector {
  return {
    name,
    help,
    type,
    aggregator: 'sum',
    // eslint-disable-next-line @typescript-eslint/require-await -- prom-client's async collector contract; a throw must reject
    async get() {
      return { name, help, type, aggregator: 'sum', values: values() }
    },
    reset,
  }
}
