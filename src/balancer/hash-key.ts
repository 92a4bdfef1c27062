/**
 * The request key for consistent hashing, from the service's `hashKey` spec:
 * `header:NAME` | `cookie:NAME` | `path` | `client-ip`. Used by the pipeline, never by the
 * balancer itself (which only sees `ctx.hashKey`). An empty or missing value is no key
 * (undefined), and the strategy's fallback applies.
 *
 * `compileHashKey(spec)` parses the spec once and returns an extractor that allocates nothing
 * beyond the returned substring; `hashKeyFromRequest` is the one-shot form.
 */

/** Node's IncomingHttpHeaders, or anything shaped like it (lower-case names). */
export type HeaderBag = { readonly [name: string]: string | readonly string[] | undefined }

export type HashKeyExtractor = (headers: HeaderBag, path: string, clientIp: string | undefined) => string | undefined

export type HashKeySpec =
  | { readonly kind: 'header'; readonly name: string }
  | { readonly kind: 'cookie'; readonly name: string }
  | { readonly kind: 'path' }
  | { readonly kind: 'client-ip' }

/** Parses a spec; throws a TypeError for anything else (the config schema already rejects those). */
export function parseHashKey(spec: string): HashKeySpec {
  if (spec === 'path') return { kind: 'path' }
  if (spec === 'client-ip') return { kind: 'client-ip' }
  if (spec.startsWith('header:') && spec.length > 7) return { kind: 'header', name: spec.slice(7).toLowerCase() }
  if (spec.startsWith('cookie:') && spec.length > 7) return { kind: 'cookie', name: spec.slice(7) }
  throw new TypeError(`invalid hash key "${spec}" (header:NAME | cookie:NAME | path | client-ip)`)
}

export function compileHashKey(spec: string): HashKeyExtractor {
  const parsed = parseHashKey(spec)
  switch (parsed.kind) {
    case 'header': {
      const name = parsed.name
      return (headers) => nonEmpty(first(headers[name]))
    }
    case 'cookie': {
      const name = parsed.name
      return (headers) => {
        const h = first(headers['cookie'])
        return h === undefined ? undefined : cookieValue(h, name)
      }
    }
    case 'path':
      return (_headers, path) => pathKey(path)
    case 'client-ip':
      return (_headers, _path, clientIp) => clientIpKey(clientIp)
  }
}

export function hashKeyFromRequest(spec: string, headers: HeaderBag, path: string, clientIp: string | undefined): string | undefined {
  if (spec === 'path') return pathKey(path)
  if (spec === 'client-ip') return clientIpKey(clientIp)
  if (spec.startsWith('header:')) return nonEmpty(first(headers[spec.slice(7).toLowerCase()]))
  if (spec.startsWith('cookie:')) {
    const h = first(headers['cookie'])
    return h === undefined ? undefined : cookieValue(h, spec.slice(7))
  }
  return undefined
}

/** The path without its query string. */
export function pathKey(path: string): string | undefined {
  const q = path.indexOf('?')
  const p = q < 0 ? path : path.slice(0, q)
  return p.length > 0 ? p : undefined
}

/** An IPv4-mapped IPv6 address (`::ffff:10.0.0.1`) keys the same as the IPv4 address. */
export function clientIpKey(ip: string | undefined): string | undefined {
  if (ip === undefined || ip.length === 0) return undefined
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip
}

/** Value of cookie `name` in a Cookie header (`a=1; b="2"`), unquoted; undefined if absent or empty. */
export function cookieValue(header: string, name: string): string | undefined {
  const len = header.length
  const n = name.length
  let i = 0
  while (i < len) {
    while (i < len && isSpace(header.charCodeAt(i))) i++
    let end = header.indexOf(';', i)
    if (end < 0) end = len
    if (header.charCodeAt(i + n) === 61 /* = */ && header.startsWith(name, i)) {
      let s = i + n + 1
      let e = end
      while (e > s && isSpace(header.charCodeAt(e - 1))) e--
      if (e - s >= 2 && header.charCodeAt(s) === 34 && header.charCodeAt(e - 1) === 34) {
        s++
        e--
      }
      return e > s ? header.slice(s, e) : undefined
    }
    i = end + 1
  }
  return undefined
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9
}

function first(v: string | readonly string[] | undefined): string | undefined {
  return typeof v === 'string' ? v : v?.[0]
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v.length === 0 ? undefined : v
}
