/**
 * `commy_upstream_tries_total{service,endpoint,outcome}`: every try of every request (upgrades
 * included), by endpoint and outcome — the status class the endpoint answered with (1xx..5xx), or
 * the `COMMY_ERR_*` code the try ended on (connect failure, reset, timeout, breaker open, ...). So
 * an endpoint that fails 9 tries of 10 shows it even when retries hide it from the client
 * (Envoy's per-host `upstream_rq_5xx`, `upstream_cx_connect_fail`).
 *
 * Fed from `RequestRecord.tries` once per finished request (not on the try's own path): a Map
 * lookup per try, no allocation once the endpoint has been seen. Rendered at scrape time; every
 * endpoint the registry knows has its 2xx..5xx series from 0. Bounded: endpoints per service are
 * capped (`maxEndpointsPerRoute`, the rest count as "_other"), codes come from the error table.
 */
import type { TryRecord } from '../proxy/request-record.js'
import { CODE_CLASSES, OTHER_ENDPOINT, codeClassIndex, scrapeCollector, type Collector, type Sample } from './collector.js'

/** The outcome classes every known endpoint shows from 0 (1xx and the error codes appear when seen). */
export const ZERO_OUTCOMES: readonly number[] = Object.freeze([1, 2, 3, 4])

/** A try that ended with neither a status nor an error code (not expected; counted, not lost). */
export const UNKNOWN_OUTCOME = 'unknown'

class EndpointTries {
  /** By status class, CODE_CLASSES order. */
  readonly classes = new Float64Array(CODE_CLASSES.length)
  codes: Map<string, number> | null = null

  add(t: TryRecord): void {
    if (t.status !== undefined) {
      this.classes[codeClassIndex(t.status)]!++
      return
    }
    const code = t.code ?? UNKNOWN_OUTCOME
    const codes = (this.codes ??= new Map<string, number>())
    codes.set(code, (codes.get(code) ?? 0) + 1)
  }
}

/** The tries of one service's endpoints. */
export class ServiceTries {
  readonly service: string
  private readonly byEndpoint = new Map<string, EndpointTries>()
  private readonly maxEndpoints: number

  constructor(service: string, maxEndpoints: number) {
    this.service = service
    this.maxEndpoints = maxEndpoints
  }

  /** Counts every try of one request. */
  record(tries: readonly TryRecord[]): void {
    for (let i = 0; i < tries.length; i++) {
      const t = tries[i]!
      let e = this.byEndpoint.get(t.endpoint)
      if (e === undefined) e = this.add(t.endpoint)
      e.add(t)
    }
  }

  /** Tries counted for an endpoint: outcome -> count (for tests and views). */
  countsOf(endpoint: string): Readonly<Record<string, number>> | undefined {
    const e = this.byEndpoint.get(endpoint)
    if (!e) return undefined
    const out: Record<string, number> = {}
    CODE_CLASSES.forEach((c, i) => {
      if (e.classes[i]! > 0) out[c] = e.classes[i]!
    })
    for (const [code, n] of e.codes ?? []) out[code] = n
    return out
  }

  forget(endpoint: string): void {
    this.byEndpoint.delete(endpoint)
  }

  /** @internal */
  entries(): IterableIterator<[string, EndpointTries]> {
    return this.byEndpoint.entries()
  }

  private add(endpoint: string): EndpointTries {
    if (this.byEndpoint.size >= this.maxEndpoints) {
      let other = this.byEndpoint.get(OTHER_ENDPOINT)
      if (!other) this.byEndpoint.set(OTHER_ENDPOINT, (other = new EndpointTries()))
      return other
    }
    const e = new EndpointTries()
    this.byEndpoint.set(endpoint, e)
    return e
  }
}

/** Who the tries collector shows from 0: the endpoints known now (service, address). */
export type KnownEndpoints = () => Iterable<{ readonly service: string; readonly address: string }>

export function triesCollector(name: string, help: string, services: () => Iterable<ServiceTries>, known: KnownEndpoints): Collector {
  return scrapeCollector(
    name,
    help,
    'counter',
    () => {
      const values: Sample[] = []
      const shown = new Set<string>()
      for (const s of services()) {
        for (const [endpoint, e] of s.entries()) {
          shown.add(`${s.service}\0${endpoint}`)
          for (let i = 0; i < CODE_CLASSES.length; i++) {
            if (e.classes[i] === 0 && !ZERO_OUTCOMES.includes(i)) continue
            values.push({ value: e.classes[i]!, labels: { service: s.service, endpoint, outcome: CODE_CLASSES[i]! } })
          }
          for (const [outcome, n] of e.codes ?? []) values.push({ value: n, labels: { service: s.service, endpoint, outcome } })
        }
      }
      for (const ep of known()) {
        if (shown.has(`${ep.service}\0${ep.address}`)) continue
        for (const i of ZERO_OUTCOMES) values.push({ value: 0, labels: { service: ep.service, endpoint: ep.address, outcome: CODE_CLASSES[i]! } })
      }
      return values
    },
  )
}
