/**
 * The one transfer-coding rule, both ways (RFC 9112 §6.1; Envoy's rule): commy frames bodies
 * itself (undici and node:http remove and add `chunked`), so the only Transfer-Encoding it can
 * carry is exactly one `chunked`. Any other coding would be silently lost when the body is
 * re-framed: requests with one are refused with 501 (proxy/framing.ts), responses with 502
 * (transport/undici.ts). Here, below both, so the rule is written once.
 */

/** A Transfer-Encoding value that is exactly the `chunked` coding (any case). */
export function isChunked(value: string): boolean {
  return value === 'chunked' || (value.length === 7 && sameToken(value, 'chunked'))
}

/** A header name that is Transfer-Encoding (any case). */
export function isTransferEncoding(name: string): boolean {
  return name.length === 17 && sameToken(name, 'transfer-encoding')
}

/**
 * A flat raw header list whose Transfer-Encoding (if any) is one `chunked` line: what commy can
 * forward. O(headers), no allocation.
 */
export function onlyChunked(raw: readonly string[]): boolean {
  let codings = 0
  for (let i = 0; i < raw.length; i += 2) if (isTransferEncoding(raw[i]!) && (++codings > 1 || !isChunked(raw[i + 1]!))) return false
  return true
}

/** `name` equals the lower-case token `lower` (same length), ignoring ASCII case; no allocation. */
export function sameToken(name: string, lower: string): boolean {
  for (let i = 0; i < lower.length; i++) if ((name.charCodeAt(i) | 0x20) !== lower.charCodeAt(i)) return false
  return true
}
