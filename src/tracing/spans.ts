/**
 * A finished, sampled request as OpenTelemetry spans, built after the fact from its RequestRecord
 * (times and outcomes recorded by the Call): one SERVER span for the request and one CLIENT span
 * per try, its child. Attribute names follow the OpenTelemetry HTTP semantic conventions; commy's
 * own facts are `commy.*`. Pure: no clock, no I/O (times come in as clock ms plus the offset to
 * wall time).
 */
import { SpanKind, SpanStatusCode, TraceFlags, type Attributes, type HrTime, type SpanContext } from '@opentelemetry/api'
import type { InstrumentationScope } from '@opentelemetry/core'
import type { Resource } from '@opentelemetry/resources'
import type { ReadableSpan, TimedEvent } from '@opentelemetry/sdk-trace-base'
import type { RequestRecord, TryRecord } from '../proxy/request-record.js'

/** The ids a sampled request was given when it started (proxy/trace.ts `begin`, `beforeTry`). */
export interface TraceIds {
  readonly traceId: string
  /** The caller's span (from the incoming traceparent); undefined: commy started the trace. */
  readonly parentSpanId: string | undefined
  readonly serverSpanId: string
  /** One per try, in order. */
  readonly trySpanIds: readonly string[]
  /** Clock ms when the request started. */
  readonly startedAt: number
}

/** What the spans are stamped with. */
export interface SpanStamp {
  readonly resource: Resource
  readonly scope: InstrumentationScope
  /** Wall-clock ms minus clock ms (clock.wallNow() - clock.now() when the request ended). */
  readonly wallOffsetMs: number
  /** Resilience events (breaker, ejection) of `endpoint` between two clock times, as span events. */
  readonly eventsOf?: (endpoint: string, from: number, to: number) => TimedEvent[]
}

/** The request's spans: its try spans, then the server span. */
export function requestSpans(ids: TraceIds, r: RequestRecord, stamp: SpanStamp): ReadableSpan[] {
  const end = ids.startedAt + r.durationMs
  const server: SpanContext = { traceId: ids.traceId, spanId: ids.serverSpanId, traceFlags: TraceFlags.SAMPLED, isRemote: false }
  const out: ReadableSpan[] = []
  const retries: TimedEvent[] = []
  const tries = r.tries
  const n = Math.min(tries.length, ids.trySpanIds.length)
  for (let i = 0; i < n; i++) {
    const t = tries[i]!
    // the try that answered lasts until the response is through; the others until their outcome
    const last = i === n - 1 && t.status !== undefined
    const tryEnd = last || t.endedAt < 0 ? Math.max(end, t.startedAt) : t.endedAt
    out.push(trySpan(ids, server, r, t, i + 1, ids.trySpanIds[i]!, tryEnd, stamp))
    if (i > 0) {
      const prev = tries[i - 1]!
      retries.push({ name: 'commy.retry', time: hr(t.startedAt + stamp.wallOffsetMs), attributes: { 'commy.try': i + 1, 'commy.retry.reason': prev.code ?? `status ${prev.status ?? 0}` } })
    }
  }
  const attributes: Attributes = {
    'http.request.method': r.method,
    'url.path': r.path,
    'http.response.status_code': r.status,
    'commy.listener': r.listener,
    'commy.request_id': r.requestId,
    'commy.tries': r.attempts,
  }
  if (r.route !== undefined) attributes['commy.route'] = r.route
  if (r.service !== undefined) attributes['commy.service'] = r.service
  if (r.endpoint !== undefined) attributes['commy.endpoint'] = r.endpoint
  if (r.host !== undefined && r.host !== '') {
    const hp = splitHostPort(r.host)
    attributes['server.address'] = hp.host
    if (hp.port !== undefined) attributes['server.port'] = hp.port
  }
  if (r.client !== undefined && r.client !== '') attributes['client.address'] = r.client
  if (r.userAgent !== undefined) attributes['user_agent.original'] = r.userAgent
  if (r.httpVersion !== undefined) attributes['network.protocol.version'] = r.httpVersion === '2.0' ? '2' : r.httpVersion
  if (r.grpcStatus !== undefined) attributes['rpc.grpc.status_code'] = r.grpcStatus
  const failed = r.status >= 500
  if (r.code !== undefined) attributes['error.type'] = r.code
  else if (failed) attributes['error.type'] = String(r.status)
  out.push(
    span(
      r.route === undefined ? r.method : `${r.method} ${r.route}`,
      SpanKind.SERVER,
      server,
      ids.parentSpanId === undefined ? undefined : { traceId: ids.traceId, spanId: ids.parentSpanId, traceFlags: TraceFlags.SAMPLED, isRemote: true },
      ids.startedAt,
      end,
      attributes,
      failed ? { code: SpanStatusCode.ERROR, message: r.code ?? `status ${r.status}` } : { code: SpanStatusCode.UNSET },
      retries,
      stamp,
    ),
  )
  return out
}

function trySpan(ids: TraceIds, parent: SpanContext, r: RequestRecord, t: TryRecord, n: number, spanId: string, end: number, stamp: SpanStamp): ReadableSpan {
  const hp = splitHostPort(t.endpoint)
  const attributes: Attributes = {
    'http.request.method': r.method,
    'server.address': hp.host,
    'commy.endpoint': t.endpoint,
    'commy.try': n,
  }
  if (hp.port !== undefined) attributes['server.port'] = hp.port
  if (n > 1) attributes['http.request.resend_count'] = n - 1
  if (r.service !== undefined) attributes['commy.service'] = r.service
  if (r.route !== undefined) attributes['commy.route'] = r.route
  if (t.status !== undefined) attributes['http.response.status_code'] = t.status
  // client spans: a 4xx is an error too (semantic conventions)
  const failed = t.code !== undefined || (t.status !== undefined && t.status >= 400)
  if (t.code !== undefined) attributes['error.type'] = t.code
  else if (failed) attributes['error.type'] = String(t.status)
  const events = stamp.eventsOf?.(t.endpoint, t.startedAt, end) ?? []
  return span(
    r.service === undefined ? r.method : `${r.method} ${r.service}`,
    SpanKind.CLIENT,
    { traceId: ids.traceId, spanId, traceFlags: TraceFlags.SAMPLED, isRemote: false },
    parent,
    t.startedAt,
    end,
    attributes,
    failed ? { code: SpanStatusCode.ERROR, message: t.code ?? `status ${t.status}` } : { code: SpanStatusCode.UNSET },
    events,
    stamp,
  )
}

function span(
  name: string,
  kind: SpanKind,
  context: SpanContext,
  parent: SpanContext | undefined,
  start: number,
  end: number,
  attributes: Attributes,
  status: ReadableSpan['status'],
  events: TimedEvent[],
  stamp: SpanStamp,
): ReadableSpan {
  const startTime = hr(start + stamp.wallOffsetMs)
  const endTime = hr(Math.max(start, end) + stamp.wallOffsetMs)
  return {
    name,
    kind,
    spanContext: () => context,
    parentSpanContext: parent,
    startTime,
    endTime,
    duration: hr(Math.max(0, end - start)),
    status,
    attributes,
    links: [],
    events,
    ended: true,
    resource: stamp.resource,
    instrumentationScope: stamp.scope,
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  }
}

/** Milliseconds as OpenTelemetry's [seconds, nanoseconds]. */
export function hr(ms: number): HrTime {
  let s = Math.floor(ms / 1000)
  let ns = Math.round((ms - s * 1000) * 1e6)
  if (ns >= 1e9) {
    s++
    ns -= 1e9
  }
  return [s, ns]
}

/** `host:port`, `[v6]:port` or a bare host -> host (brackets removed) and port. */
export function splitHostPort(hp: string): { host: string; port: number | undefined } {
  const colon = hp.lastIndexOf(':')
  const close = hp.lastIndexOf(']')
  if (colon < 0 || colon < close) return { host: hp.startsWith('[') ? hp.slice(1, -1) : hp, port: undefined }
  const port = Number(hp.slice(colon + 1))
  const host = hp.slice(0, colon)
  return { host: host.startsWith('[') ? host.slice(1, -1) : host, port: Number.isInteger(port) ? port : undefined }
}
