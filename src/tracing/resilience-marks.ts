/**
 * Breaker transitions and ejections, kept briefly per endpoint so a try's span can show the one
 * its outcome caused (they happen inside the try, before the Call hears of its outcome). A few
 * marks per endpoint, for the endpoints that had one lately; nothing on the request path.
 */
import type { Attributes } from '@opentelemetry/api'
import type { TimedEvent } from '@opentelemetry/sdk-trace-base'
import type { ResilienceEvents } from '../resilience/events.js'
import { hr } from './spans.js'

interface Mark {
  readonly at: number
  readonly name: string
  readonly attributes: Attributes
}

/** Marks kept per endpoint, and endpoints remembered. */
const PER_ENDPOINT = 4
const ENDPOINTS = 1024

export class ResilienceMarks {
  private readonly marks = new Map<string, Mark[]>()

  constructor(private readonly now: () => number) {}

  /** Subscribe with `resilience.on(marks.events)`. */
  readonly events: ResilienceEvents = {
    breakerTransition: (e) => this.mark(e.endpoint, `commy.breaker.${e.to}`, { 'commy.breaker.from': e.from, 'commy.breaker.to': e.to, 'commy.reason': e.reason }),
    ejection: (e) => this.mark(e.endpoint, 'commy.outlier.ejected', { 'commy.ejection.duration_ms': e.durationMs, 'commy.reason': e.reason }),
  }

  private mark(endpoint: string, name: string, attributes: Attributes): void {
    let list = this.marks.get(endpoint)
    if (list === undefined) {
      if (this.marks.size >= ENDPOINTS) this.marks.delete(this.marks.keys().next().value!)
      list = []
      this.marks.set(endpoint, list)
    }
    list.push({ at: this.now(), name, attributes })
    if (list.length > PER_ENDPOINT) list.shift()
  }

  /** The marks of `endpoint` in [from, to] (clock ms), as span events at wall time. */
  eventsOf(endpoint: string, from: number, to: number, wallOffsetMs: number): TimedEvent[] {
    const list = this.marks.get(endpoint)
    if (list === undefined) return []
    const out: TimedEvent[] = []
    for (const m of list) if (m.at >= from && m.at <= to) out.push({ name: m.name, time: hr(m.at + wallOffsetMs), attributes: m.attributes })
    return out
  }
}
