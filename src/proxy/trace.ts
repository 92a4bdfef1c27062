/**
 * All the request path knows of tracing: a trace decided when a request starts (sampling, ids), a
 * `traceparent` written before each try, and the finished request handed back. The spans and
 * their export live in src/tracing/. Without tracing the forwarder holds no `Tracing` and nothing
 * is allocated per request.
 */
import type { RequestRecord } from './request-record.js'

export interface Tracing {
  /**
   * A request starts at clock ms `startedAt`. `headers` is the flat list sent upstream: the
   * incoming `traceparent` is read there, and from now on the trace owns that entry (it may
   * replace it, or add one).
   */
  begin(headers: string[], startedAt: number): RequestTrace
}

export interface RequestTrace {
  /** Try `n` (1 for the first) is about to be sent: its `traceparent` is written into the headers. */
  beforeTry(n: number): void
  /** The request is finished, whatever the outcome. */
  end(record: RequestRecord): void
}
