/**
 * What is known about a request once it is finished: one record per request, handed to the
 * observers (the access log, later the metrics). Nothing else is logged per request.
 */
export interface RequestRecord {
  readonly listener: string
  readonly method: string
  /** Path without the query string (queries may carry secrets). */
  readonly path: string
  readonly route: string | undefined
  readonly service: string | undefined
  /** `host:port` of the endpoint that answered (or of the last try). */
  readonly endpoint: string | undefined
  /** Status sent to the client; 499 when the client left first. */
  readonly status: number
  readonly durationMs: number
  readonly bytesIn: number
  readonly bytesOut: number
  readonly attempts: number
  readonly requestId: string
  /** Error code when commy answered with (or ended on) an error. */
  readonly code: string | undefined
  /** Routes with `explain`: why the endpoint was picked (a JSON object's text, see proxy/explain.ts). */
  readonly explain?: string | undefined
  /** The Host (HTTP/2: :authority) the request named. */
  readonly host?: string | undefined
  /** Address of the client connection. */
  readonly client?: string | undefined
  readonly userAgent?: string | undefined
  /** The client's HTTP version as Node reports it: `1.0`, `1.1`, `2.0`. */
  readonly httpVersion?: string | undefined
  /** gRPC requests: the final grpc-status the client received. */
  readonly grpcStatus?: number | undefined
  /** Every try, in order (empty when no endpoint was tried). */
  readonly tries: readonly TryRecord[]
  /** Clock ms when the request finished (observers need no clock read of their own). */
  readonly endedAt?: number
}

/** One try of a request: which endpoint, when, and how it ended. */
export interface TryRecord {
  /** `host:port` of the endpoint tried. */
  readonly endpoint: string
  /** Clock ms when the try was sent. */
  readonly startedAt: number
  /** Clock ms when its outcome was known: response head, or the error (-1: not yet). */
  endedAt: number
  /** Upstream status (undefined: the try got no response). */
  status: number | undefined
  /** Error code when the try failed with an error (COMMY_ERR_*). */
  code: string | undefined
}

/** No tries (refusals before routing, no endpoint). */
export const NO_TRIES: readonly TryRecord[] = Object.freeze([])

export type RequestObserver = (record: RequestRecord) => void

/** What a finished request's record is made from: the forwarder's calls, refusals and upgrades alike. */
export interface FinishedRequest {
  readonly listener: string
  /** The request method (GET when the parser gave none). */
  readonly method: string | undefined
  /** The request target as forwarded; the query is dropped here. */
  readonly url: string
  readonly route: { readonly name: string; readonly service: string } | undefined
  /** `host:port` of the endpoint that answered (or of the last try). */
  readonly endpoint: string | undefined
  readonly status: number
  /** Clock ms when the request started and ended. */
  readonly startedAt: number
  readonly endedAt: number
  readonly bytesIn: number
  readonly bytesOut: number
  readonly attempts: number
  readonly requestId: string
  readonly code: string | undefined
  readonly explain?: string | undefined
  readonly host?: string | undefined
  readonly client?: string | undefined
  readonly userAgent?: string | undefined
  readonly httpVersion?: string | undefined
  readonly grpcStatus?: number | undefined
  readonly tries?: readonly TryRecord[] | undefined
}

/** The one place a RequestRecord is built. */
export function requestRecord(f: FinishedRequest): RequestRecord {
  return {
    listener: f.listener,
    method: f.method ?? 'GET',
    path: pathOnly(f.url),
    route: f.route?.name,
    service: f.route?.service,
    endpoint: f.endpoint,
    status: f.status,
    durationMs: roundMs(f.endedAt - f.startedAt),
    bytesIn: f.bytesIn,
    bytesOut: f.bytesOut,
    attempts: f.attempts,
    requestId: f.requestId,
    code: f.code,
    explain: f.explain,
    host: f.host,
    client: f.client,
    userAgent: f.userAgent,
    httpVersion: f.httpVersion,
    grpcStatus: f.grpcStatus,
    tries: f.tries ?? NO_TRIES,
    endedAt: f.endedAt,
  }
}

/** Milliseconds rounded to 1/100 (what records and logs show). */
export function roundMs(ms: number): number {
  return Math.round(ms * 100) / 100
}

/** Calls every observer; a failing observer does not stop the others. */
export function observers(list: readonly RequestObserver[]): RequestObserver {
  if (list.length === 0) return () => {}
  if (list.length === 1) return list[0]!
  return (r) => {
    for (const o of list) {
      try {
        o(r)
      } catch {
        // an observer must not break the data path
      }
    }
  }
}

export function pathOnly(url: string): string {
  const q = url.indexOf('?')
  return q < 0 ? url : url.slice(0, q)
}
