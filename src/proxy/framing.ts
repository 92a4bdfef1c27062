/**
 * Message framing a proxy can trust (RFC 9112), the checks Node's parser leaves to us. Node
 * (llhttp, strict) already refuses Content-Length with Transfer-Encoding, duplicate or listed
 * Content-Length, bad chunk sizes, obs-fold and invalid header bytes (the listener's clientError
 * answers those). What is left is decided here, once, before anything of a request is forwarded:
 *
 * - more headers than `limits.maxHeaderCount` (the listener sets Node's `maxHeadersCount` one
 *   above it, so a request Node truncated always has more than the limit): 431;
 * - a request-target longer than `limits.maxUriLength`: 414;
 * - an HTTP major version other than 1: 505;
 * - HTTP/1.1 without Host, more than one Host, or a Host that is not a valid authority: 400
 *   (RFC 9112 §3.2); an absolute-form target with userinfo or no host: 400 (RFC 9110 §4.2.4);
 * - Transfer-Encoding other than one `chunked`: 501 (the rule: pipeline/transfer-coding.ts);
 *   Transfer-Encoding in an HTTP/1.0 request: faulty framing, 400.
 *
 * On every request: O(headers), no allocation when the request is acceptable.
 */
import { BadRequestError, HeadersTooLargeError, HttpVersionError, TransferEncodingError, UriTooLongError, type CommyError } from '../errors.js'
import { isChunked, isTransferEncoding, sameToken } from '../pipeline/transfer-coding.js'

export interface RequestLimits {
  readonly maxHeaderCount: number
  readonly maxUriLength: number
}

/** What the checks read from a request (an IncomingMessage has all of it). */
export interface RequestHead {
  readonly httpVersionMajor: number
  readonly httpVersionMinor: number
  readonly url?: string | undefined
  readonly rawHeaders: readonly string[]
}

/**
 * The error to refuse the request with, or undefined when it may be forwarded. `authority` is
 * the host of an absolute-form target (undefined for origin-form).
 */
export function requestRefusal(req: RequestHead, authority: string | undefined, limits: RequestLimits): CommyError | undefined {
  const raw = req.rawHeaders
  if (raw.length > 2 * limits.maxHeaderCount) return new HeadersTooLargeError(`more than ${limits.maxHeaderCount} request headers`)
  if (req.url !== undefined && req.url.length > limits.maxUriLength) return new UriTooLongError(limits.maxUriLength)
  if (req.httpVersionMajor !== 1) return new HttpVersionError(req.httpVersionMajor, req.httpVersionMinor)
  let hosts = 0
  let codings = 0
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!
    if (name.length === 4 && sameToken(name, 'host')) {
      if (++hosts > 1) return new BadRequestError('more than one Host header')
      if (!validAuthority(raw[i + 1]!)) return new BadRequestError('invalid Host header')
    } else if (isTransferEncoding(name)) {
      if (req.httpVersionMinor === 0) return new BadRequestError('Transfer-Encoding in an HTTP/1.0 request')
      if (++codings > 1 || !isChunked(raw[i + 1]!)) return new TransferEncodingError()
    }
  }
  if (hosts === 0 && req.httpVersionMinor !== 0) return new BadRequestError('missing Host header (required in HTTP/1.1)')
  if (authority !== undefined && (authority === '' || !validAuthority(authority))) return new BadRequestError('invalid authority in the request target')
  return undefined
}

/**
 * Bytes of an authority without userinfo (RFC 3986 §3.2: reg-name or IP literal, `:port`):
 * unreserved, pct-encoded, sub-delims, `:`, `[`, `]`. Notably not `@`, `/`, `?`, `#`, spaces.
 */
const AUTHORITY = (() => {
  const ok = new Uint8Array(128)
  for (const c of "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~%!$&'()*+,;=:[]") ok[c.charCodeAt(0)] = 1
  return ok
})()

/** An empty Host is valid (a target without authority, RFC 9112 §3.2). */
function validAuthority(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i)
    if (c >= 128 || AUTHORITY[c] === 0) return false
  }
  return true
}
