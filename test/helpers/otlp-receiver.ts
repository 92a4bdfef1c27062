/**
 * A test OTLP/HTTP trace receiver on 127.0.0.1: accepts `POST /v1/traces` with an OTLP/JSON
 * ExportTraceServiceRequest (what @opentelemetry/exporter-trace-otlp-http sends), decodes it as a
 * collector would (resourceSpans -> scopeSpans -> spans; ids as hex, attributes as typed
 * AnyValues) and keeps the spans flat, each with its resource's attributes.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'

export type AttrValue = string | number | boolean | undefined

/** OTLP span kinds (the proto enum): 2 server, 3 client. */
export const KIND_SERVER = 2
export const KIND_CLIENT = 3

export interface ReceivedSpan {
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId: string
  readonly name: string
  readonly kind: number
  /** Epoch ms (from the *UnixNano fields). */
  readonly startMs: number
  readonly endMs: number
  readonly attributes: Record<string, AttrValue>
  readonly events: { name: string; timeMs: number; attributes: Record<string, AttrValue> }[]
  readonly status: { code: number; message?: string }
  readonly resource: Record<string, AttrValue>
  readonly scope: string
}

export interface OtlpReceiver {
  readonly url: string
  readonly spans: ReceivedSpan[]
  /** Requests received, with their headers. */
  readonly requests: http.IncomingHttpHeaders[]
  /** Status to answer with (default 200). */
  status: number
  close(): Promise<void>
}

interface AnyValue {
  stringValue?: string
  intValue?: string | number
  doubleValue?: number
  boolValue?: boolean
}
interface KeyValue {
  key: string
  value: AnyValue
}
interface OtlpSpan {
  traceId: string
  spanId: string
  parentSpanId?: string
  name: string
  kind: number
  startTimeUnixNano: string | number
  endTimeUnixNano: string | number
  attributes?: KeyValue[]
  events?: { name: string; timeUnixNano: string | number; attributes?: KeyValue[] }[]
  status?: { code?: number; message?: string }
}
interface ExportRequest {
  resourceSpans?: { resource?: { attributes?: KeyValue[] }; scopeSpans?: { scope?: { name?: string }; spans?: OtlpSpan[] }[] }[]
}

function value(v: AnyValue): AttrValue {
  if (v.stringValue !== undefined) return v.stringValue
  if (v.intValue !== undefined) return Number(v.intValue)
  if (v.doubleValue !== undefined) return v.doubleValue
  return v.boolValue
}

function attrs(list: KeyValue[] | undefined): Record<string, AttrValue> {
  const out: Record<string, AttrValue> = {}
  for (const kv of list ?? []) out[kv.key] = value(kv.value)
  return out
}

const ms = (nanos: string | number) => Number(BigInt(nanos) / 1000n) / 1000

/** Decodes one OTLP/JSON export request. */
export function decodeExport(body: string): ReceivedSpan[] {
  const req = JSON.parse(body) as ExportRequest
  const out: ReceivedSpan[] = []
  for (const rs of req.resourceSpans ?? []) {
    const resource = attrs(rs.resource?.attributes)
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        out.push({
          traceId: s.traceId,
          spanId: s.spanId,
          parentSpanId: s.parentSpanId ?? '',
          name: s.name,
          kind: s.kind,
          startMs: ms(s.startTimeUnixNano),
          endMs: ms(s.endTimeUnixNano),
          attributes: attrs(s.attributes),
          events: (s.events ?? []).map((e) => ({ name: e.name, timeMs: ms(e.timeUnixNano), attributes: attrs(e.attributes) })),
          status: { code: s.status?.code ?? 0, message: s.status?.message },
          resource,
          scope: ss.scope?.name ?? '',
        })
      }
    }
  }
  return out
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = []
  const requests: http.IncomingHttpHeaders[] = []
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      requests.push(req.headers)
      if (req.method !== 'POST' || req.url !== '/v1/traces' || !String(req.headers['content-type']).startsWith('application/json')) {
        res.writeHead(404).end()
        return
      }
      if (r.status !== 200) {
        res.writeHead(r.status).end()
        return
      }
      spans.push(...decodeExport(Buffer.concat(chunks).toString()))
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  const r: OtlpReceiver = {
    url: `http://127.0.0.1:${port}/v1/traces`,
    spans,
    requests,
    status: 200,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
  return r
}
