/**
 * The request key for consistent hashing (`services.X.hashKey`): `header:NAME`, `cookie:NAME`,
 * `path` (without query) or `client-ip`. Compiled once per service into a reader.
 */
import { rawHeader } from './headers.js'

export interface HashKeySource {
  readonly rawHeaders: readonly string[]
  /** Path with query. */
  readonly path: string
  readonly clientIp: string
}

export type HashKeyReader = (req: HashKeySource) => string | undefined

export function hashKeyReader(spec: string | undefined): HashKeyReader | undefined {
  if (spec === undefined) return undefined
  if (spec === 'path') {
    return (req) => {
      const q = req.path.indexOf('?')
      return q < 0 ? req.path : req.path.slice(0, q)
    }
  }
  if (spec === 'client-ip') return (req) => req.clientIp
  if (spec.startsWith('header:')) {
    const name = spec.slice(7).toLowerCase()
    return (req) => rawHeader(req.rawHeaders, name)
  }
  if (spec.startsWith('cookie:')) {
    const name = spec.slice(7)
    return (req) => {
      const cookies = rawHeader(req.rawHeaders, 'cookie')
      return cookies === undefined ? undefined : cookieValue(cookies, name)
    }
  }
  throw new Error(`unknown hashKey "${spec}"`)
}

/** The value of cookie `name` in a Cookie header, or undefined. */
export function cookieValue(header: string, name: string): string | undefined {
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq < 0) continue
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim()
  }
  return undefined
}
