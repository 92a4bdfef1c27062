/**
 * One HTTP/2 stream as the request and response the Forwarder already handles: Node's http2
 * compatibility objects (Http2ServerRequest/Response look like IncomingMessage/ServerResponse),
 * subclassed so the request presents its HTTP/1.1 translation (RFC 9113 §8.3):
 *
 * - `rawHeaders`: pseudo-headers removed; `:authority` becomes `Host` (replacing a `host` field,
 *   which it takes precedence over); cookie crumbs joined into one `Cookie` (§8.2.3); a body
 *   without `content-length` is marked `Transfer-Encoding: chunked`, which is how an HTTP/1.1
 *   upstream receives it (the header is hop-by-hop: proxy/headers.ts drops it and undici
 *   chunks the body). Connection-specific fields never reach us: nghttp2 refuses such a
 *   request as malformed, and `te` (only `trailers` is allowed) is hop-by-hop.
 * - `httpVersionMajor`/`Minor` 1.1, so framing (proxy/framing.ts) applies the same rules to both
 *   (one Host, header count, target length); `httpVersion` stays `2.0` for the access log.
 *
 * The response drops the HTTP/1.1 reason phrase (HTTP/2 has none) and resets a stream it
 * abandons with INTERNAL_ERROR, so the client sees a failed stream, never a truncated success.
 * Node's compat layer itself drops connection-specific response fields (connection,
 * keep-alive, transfer-encoding, upgrade); proxy/headers.ts has already removed them.
 */
import { Http2ServerRequest, Http2ServerResponse, constants, type OutgoingHttpHeaders } from 'node:http2'

const { NGHTTP2_INTERNAL_ERROR } = constants

/** Set on a stream commy itself reset (not counted as a client's reset). */
export const kResetByUs = Symbol('commy.h2.resetByUs')

export class H2Request extends Http2ServerRequest {
  private translated: string[] | undefined

  /** The stream's header fields as received (pseudo-headers first). */
  h2RawHeaders(): readonly string[] {
    const raw: unknown = Reflect.get(Http2ServerRequest.prototype, 'rawHeaders', this)
    return raw as string[]
  }

  /** The request's header fields in their HTTP/1.1 form (built once). */
  h1RawHeaders(): string[] {
    return (this.translated ??= translateHeaders(this.h2RawHeaders(), !this.stream.endAfterHeaders))
  }
}

// getters over the base class's (TypeScript declares them as properties there)
Object.defineProperties(H2Request.prototype, {
  rawHeaders: {
    get(this: H2Request) {
      return this.h1RawHeaders()
    },
  },
  httpVersionMajor: { get: () => 1 },
  httpVersionMinor: { get: () => 1 },
})

export class H2Response extends Http2ServerResponse<H2Request> {
  override writeHead(status: number, reasonOrHeaders?: string | OutgoingHttpHeaders | string[], headers?: OutgoingHttpHeaders | string[]): this {
    // HTTP/2 has no reason phrase (Node would warn once per process)
    if (typeof reasonOrHeaders === 'string') return super.writeHead(status, headers as OutgoingHttpHeaders)
    return super.writeHead(status, reasonOrHeaders as OutgoingHttpHeaders)
  }

  override destroy(err?: Error): this {
    const stream = this.stream as typeof this.stream & { [kResetByUs]?: boolean }
    if (!stream.closed && !stream.destroyed) {
      stream[kResetByUs] = true
      stream.close(NGHTTP2_INTERNAL_ERROR)
    }
    return super.destroy(err)
  }
}

/**
 * A stream's raw header list (Node's flat `[name, value, ...]`, pseudo-headers first) in its
 * HTTP/1.1 form. `hasBody`: the HEADERS frame did not end the stream.
 */
export function translateHeaders(raw: readonly string[], hasBody: boolean): string[] {
  const out: string[] = []
  let authority: string | undefined
  let cookie: string | undefined
  let contentLength = false
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!
    const value = raw[i + 1]!
    if (name.charCodeAt(0) === 58 /* ':' */) {
      if (name === ':authority') authority = value
      continue
    }
    if (name === 'host') {
      authority ??= value
      continue
    }
    if (name === 'cookie') {
      cookie = cookie === undefined ? value : `${cookie}; ${value}`
      continue
    }
    if (name === 'content-length') contentLength = true
    out.push(name, value)
  }
  if (authority !== undefined) out.unshift('host', authority)
  if (cookie !== undefined) out.push('cookie', cookie)
  if (hasBody && !contentLength) out.push('transfer-encoding', 'chunked')
  return out
}
