/**
 * The connection metrics, read at scrape time from the data plane's counters (no per-request
 * cost): `commy_downstream_connections{listener}` (open now) with its `_opened_total` and
 * `_closed_total`, counted by the listeners; `commy_upstream_connections{service,endpoint}` with
 * its `_opened_total` and `_closed_total`, counted from the transport pools' connect/disconnect
 * events. Every listener shows from 0 once built, every endpoint the registry knows from 0
 * before its first connection. Upgrades (WebSocket) dial their own sockets and are not counted
 * upstream. Bounded: listeners come from the config, endpoints are the registry's.
 */
import type { ConnectionCounters } from '../proxy/connection-counts.js'
import type { KnownEndpoints } from './golden-tries.js'
import { scrapeCollector, type Collector, type Sample } from './collector.js'

const NONE: ConnectionCounters = { downstream: new Map(), upstream: [] }

type Field = 'open' | 'opened' | 'closed'

const FAMILIES: readonly { readonly suffix: string; readonly field: Field; readonly type: 'gauge' | 'counter'; readonly help: string }[] = [
  { suffix: '', field: 'open', type: 'gauge', help: 'open now' },
  { suffix: '_opened_total', field: 'opened', type: 'counter', help: 'opened since start' },
  { suffix: '_closed_total', field: 'closed', type: 'counter', help: 'closed since start' },
]

/**
 * The six connection families. `read` is asked once per scrape (the first family read in a
 * scrape reads it; the others reuse it until `settle()` is called after the scrape).
 */
export class ConnectionMetrics {
  private read: () => ConnectionCounters = () => NONE
  private current: ConnectionCounters | undefined

  follow(read: () => ConnectionCounters): void {
    this.read = read
  }

  /** Forget this scrape's reading. */
  settle(): void {
    this.current = undefined
  }

  collectors(known: KnownEndpoints): Collector[] {
    const counters = () => (this.current ??= this.read())
    const out: Collector[] = []
    for (const f of FAMILIES) {
      out.push(
        scrapeCollector(`commy_downstream_connections${f.suffix}`, `Client connections accepted by a listener: ${f.help}.`, f.type, () =>
          [...counters().downstream].map(([listener, c]) => ({ value: c[f.field], labels: { listener } })),
        ),
      )
      out.push(
        scrapeCollector(`commy_upstream_connections${f.suffix}`, `Connections from commy to an endpoint: ${f.help}.`, f.type, () => {
          const values: Sample[] = []
          const seen = new Set<string>()
          for (const c of counters().upstream) {
            seen.add(`${c.service}\0${c.endpoint}`)
            values.push({ value: f.field === 'open' ? c.opened - c.closed : c[f.field], labels: { service: c.service, endpoint: c.endpoint } })
          }
          for (const ep of known()) if (!seen.has(`${ep.service}\0${ep.address}`)) values.push({ value: 0, labels: { service: ep.service, endpoint: ep.address } })
          return values
        }),
      )
    }
    return out
  }
}

