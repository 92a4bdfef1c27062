/**
 * The W3C Trace Context `traceparent` header (https://www.w3.org/TR/trace-context/):
 * `version-traceid-parentid-flags`, lower-case hex. Version 00 is exactly 55 characters; a later
 * version may append fields after a dash (read as 00). Invalid: version ff, upper case, an
 * all-zero trace or parent id.
 */

export interface TraceParent {
  /** 32 hex digits. */
  readonly traceId: string
  /** 16 hex digits: the caller's span. */
  readonly spanId: string
  readonly sampled: boolean
}

const ZERO_TRACE = '00000000000000000000000000000000'
const ZERO_SPAN = '0000000000000000'

/** Parses a traceparent value; undefined when it is not valid. */
export function parseTraceparent(value: string): TraceParent | undefined {
  const v = value.trim()
  if (v.length < 55) return undefined
  if (v.length > 55 && (v.startsWith('00') || v.charCodeAt(55) !== 45 /* - */)) return undefined
  if (v.charCodeAt(2) !== 45 || v.charCodeAt(35) !== 45 || v.charCodeAt(52) !== 45) return undefined
  if (!isHex(v, 0, 2) || v.startsWith('ff') || !isHex(v, 3, 35) || !isHex(v, 36, 52) || !isHex(v, 53, 55)) return undefined
  const traceId = v.slice(3, 35)
  const spanId = v.slice(36, 52)
  if (traceId === ZERO_TRACE || spanId === ZERO_SPAN) return undefined
  const flags = parseInt(v.slice(53, 55), 16)
  return { traceId, spanId, sampled: (flags & 1) === 1 }
}

/** `00-<trace>-<span>-01` (sampled) or `-00`. */
export function formatTraceparent(traceId: string, spanId: string, sampled: boolean): string {
  return `00-${traceId}-${spanId}-${sampled ? '01' : '00'}`
}

/** Lower-case hex digits only, in [from, to). */
function isHex(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i)
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false
  }
  return true
}
