/**
 * Header rules of a proxy a user can trust (RFC 9110 §7.6.1): hop-by-hop headers — Connection and
 * every header it names, Keep-Alive, TE, Trailer, Transfer-Encoding, Upgrade, Proxy-* — are
 * removed both ways; X-Forwarded-For/-Proto/-Host are added upstream; x-request-id is kept or
 * generated; Host is replaced by the authority of an absolute-form target (RFC 9112 §3.2.2);
 * everything else (traceparent, tracestate, multiple Set-Cookie) passes unchanged. Works on
 * Node's flat raw header lists, without building header objects.
 */
import { isGrpcContentType } from '../config/grpc-routes.js'

/** Hop-by-hop header names (lower case); any `proxy-*` is hop-by-hop as well. */
export const HOP_BY_HOP: ReadonlySet<string> = new Set(['connection', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'upgrade'])

/** Also never forwarded upstream: commy answers `Expect: 100-continue` itself. */
const REQUEST_DROP: ReadonlySet<string> = new Set(['expect'])

/** Connection tokens that are not header names. */
const CONNECTION_OPTIONS: ReadonlySet<string> = new Set(['close', 'keep-alive', 'upgrade'])

function isHopByHop(lower: string): boolean {
  return HOP_BY_HOP.has(lower) || lower.startsWith('proxy-')
}

/** Adds the header names a Connection value lists (other than close/keep-alive/upgrade). */
function addConnectionNamed(value: string, named: Set<string> | null): Set<string> | null {
  if (value === 'keep-alive' || value === 'close' || value === 'Keep-Alive' || value === 'Close') return named
  for (const token of value.split(',')) {
    const t = token.trim().toLowerCase()
    if (t !== '' && !CONNECTION_OPTIONS.has(t)) (named ??= new Set()).add(t)
  }
  return named
}

/** Removes, from a flat list, the headers whose lower-cased names are in `named` (rare path). */
function withoutNamed(list: string[], named: Set<string>): string[] {
  const out: string[] = []
  for (let i = 0; i < list.length; i += 2) if (!named.has(list[i]!.toLowerCase())) out.push(list[i]!, list[i + 1]!)
  return out
}

/** First value of a header in a raw list (case-insensitive name), or undefined. */
export function rawHeader(raw: readonly string[], lowerName: string): string | undefined {
  const len = lowerName.length
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!
    if (name.length === len && (name === lowerName || name.toLowerCase() === lowerName)) return raw[i + 1]
  }
  return undefined
}

export interface UpstreamHeaders {
  readonly headers: string[]
  readonly requestId: string
  /** Content-Length of the request (-1 when absent). */
  readonly contentLength: number
  /** The request body is chunked (Transfer-Encoding present). */
  readonly chunked: boolean
  /** The Host the request names (the absolute-form authority, else the Host header). */
  readonly host: string | undefined
  /** The client's User-Agent, if it sent one. */
  readonly userAgent: string | undefined
  /** The request is a gRPC call (`content-type: application/grpc*`, proxy/grpc.ts). */
  readonly grpc: boolean
}

/**
 * Request headers to send upstream: hop-by-hop removed; `x-forwarded-for` gets the client address
 * appended; `x-forwarded-proto` and `x-forwarded-host` are set when absent; `x-request-id` is
 * kept or generated. Host passes unchanged, unless `authority` (of an absolute-form target) is
 * given: then it replaces every Host header (and is the X-Forwarded-Host when none is present).
 */
export function upstreamRequestHeaders(
  raw: readonly string[],
  /** Address of the client connection (the app beside the sidecar). */
  clientIp: string,
  /** Scheme the request came in on. */
  proto: string,
  /** Makes an id when the request has none. */
  newRequestId: () => string,
  /** Host of an absolute-form request target. */
  authority?: string,
): UpstreamHeaders {
  let named: Set<string> | null = null
  let out: string[] = []
  let xff: string | undefined
  let host: string | undefined = authority
  if (authority !== undefined) out.push('host', authority)
  let requestId: string | undefined
  let hasProto = false
  let hasFwdHost = false
  let contentLength = -1
  let chunked = false
  let userAgent: string | undefined
  let grpc = false
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!
    const value = raw[i + 1]!
    const lower = name.toLowerCase()
    if (isHopByHop(lower) || REQUEST_DROP.has(lower)) {
      if (lower === 'transfer-encoding') chunked = true
      else if (lower === 'connection') named = addConnectionNamed(value, named)
      continue
    }
    switch (lower) {
      case 'content-length':
        contentLength = Number(value)
        break
      case 'host':
        if (authority !== undefined) continue
        host = value
        break
      case 'x-forwarded-for':
        xff = xff === undefined ? value : `${xff}, ${value}`
        continue
      case 'x-forwarded-proto':
        hasProto = true
        break
      case 'x-forwarded-host':
        hasFwdHost = true
        break
      case 'user-agent':
        userAgent = value
        break
      case 'content-type':
        grpc = isGrpcContentType(value)
        break
      case 'x-request-id':
        if (requestId !== undefined) continue // one id
        if (value === '') continue
        requestId = value
        break
    }
    out.push(name, value)
  }
  if (named !== null) {
    out = withoutNamed(out, named)
    if (named.has('x-forwarded-for')) xff = undefined
  }
  out.push('x-forwarded-for', xff === undefined ? clientIp : `${xff}, ${clientIp}`)
  if (!hasProto) out.push('x-forwarded-proto', proto)
  if (!hasFwdHost && host !== undefined) out.push('x-forwarded-host', host)
  if (requestId === undefined) {
    requestId = newRequestId()
    out.push('x-request-id', requestId)
  }
  return { headers: out, requestId, contentLength, chunked, host, userAgent, grpc }
}

/**
 * Response headers to send to the client: hop-by-hop removed, in place (the list belongs to the
 * response being forwarded; no copy on the hot path). Returns the same array. (A response whose
 * Transfer-Encoding is not one `chunked` never gets here: the transport refuses it.)
 */
export function downstreamResponseHeaders(raw: string[]): string[] {
  let named: Set<string> | null = null
  let w = 0
  const n = raw.length
  for (let i = 0; i < n; i += 2) {
    const name = raw[i]!
    const lower = name.toLowerCase()
    if (isHopByHop(lower)) {
      if (lower === 'connection') named = addConnectionNamed(raw[i + 1]!, named)
      continue
    }
    if (w !== i) {
      raw[w] = name
      raw[w + 1] = raw[i + 1]!
    }
    w += 2
  }
  if (w !== n) raw.length = w
  if (named !== null) {
    const kept = withoutNamed(raw, named)
    raw.length = 0
    for (const x of kept) raw.push(x)
  }
  return raw
}

/** Lower-cased Host without port (`[v6]` kept in brackets); '' when absent. */
export function hostWithoutPort(host: string | undefined): string {
  if (host === undefined || host === '') return ''
  let end = host.length
  if (host.charCodeAt(0) === 91 /* [ */) {
    const close = host.indexOf(']')
    if (close > 0) end = close + 1
  } else {
    const colon = host.indexOf(':')
    if (colon >= 0) end = colon
  }
  const h = end === host.length ? host : host.slice(0, end)
  return h.toLowerCase()
}
