/**
 * gRPC on the wire, as commy needs it (https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md):
 * (which requests are gRPC calls: config/grpc-routes.ts `isGrpcContentType`) the client's
 * deadline (`grpc-timeout`), the `grpc-status` of a response head, and `grpc-message`'s
 * percent-encoding (the codes themselves: pipeline/grpc-status.ts). Pure functions on strings and Node's flat raw header lists; no allocation on
 * the paths every request takes.
 */
/** ms per unit of `grpc-timeout`: Hours, Minutes, Seconds, milliseconds, microseconds, nanoseconds. */
function unitMs(unit: number): number {
  switch (unit) {
    case 72 /* H */:
      return 3_600_000
    case 77 /* M */:
      return 60_000
    case 83 /* S */:
      return 1000
    case 109 /* m */:
      return 1
    case 117 /* u */:
      return 0.001
    case 110 /* n */:
      return 0.000001
    default:
      return -1
  }
}

/**
 * `grpc-timeout` in ms: an ASCII integer of at most 8 digits and a unit (`200m`, `1S`, `5H`, `100u`).
 * Rounded up to whole ms (a deadline under 1 ms is still a deadline); undefined when malformed,
 * which gRPC servers treat as no deadline.
 */
export function parseGrpcTimeout(value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  const n = value.length
  if (n < 2 || n > 9) return undefined
  const unit = unitMs(value.charCodeAt(n - 1))
  if (unit < 0) return undefined
  let amount = 0
  for (let i = 0; i < n - 1; i++) {
    const c = value.charCodeAt(i) - 48
    if (c < 0 || c > 9) return undefined
    amount = amount * 10 + c
  }
  return Math.ceil(amount * unit)
}

/** The `grpc-status` of a flat raw header list (a trailers-only response's head, or trailers); undefined when absent or not a number. */
export function grpcStatusOf(raw: readonly string[]): number | undefined {
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!
    if (name.length === 11 && (name === 'grpc-status' || name.toLowerCase() === 'grpc-status')) return statusNumber(raw[i + 1]!)
  }
  return undefined
}

/** `grpc-status` of a header object (trailers as Node gives them); undefined when absent or not a number. */
export function grpcStatusOfObject(headers: Readonly<Record<string, string | string[] | undefined>>): number | undefined {
  const v = headers['grpc-status']
  if (v === undefined) return undefined
  return statusNumber(Array.isArray(v) ? (v[0] ?? '') : v)
}

function statusNumber(v: string): number | undefined {
  const s = v.trim()
  if (s === '' || s.length > 3) return undefined
  let n = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i) - 48
    if (c < 0 || c > 9) return undefined
    n = n * 10 + c
  }
  return n
}

/**
 * `grpc-message` encoding: the UTF-8 bytes of `text`, with every byte outside printable ASCII
 * (0x20-0x7E) and `%` itself written as `%XX` (upper-case hex), as the spec says.
 */
export function percentEncodeGrpcMessage(text: string): string {
  let plain = true
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c < 0x20 || c > 0x7e || c === 0x25) {
      plain = false
      break
    }
  }
  if (plain) return text
  let out = ''
  for (const byte of Buffer.from(text, 'utf8')) {
    if (byte >= 0x20 && byte <= 0x7e && byte !== 0x25) out += String.fromCharCode(byte)
    else out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`
  }
  return out
}
