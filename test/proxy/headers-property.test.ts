/**
 * Property-based tests (fast-check) of header rewriting, both ways: hop-by-hop headers and every
 * header a Connection header names are never forwarded; end-to-end headers pass byte-exact and in
 * order; X-Forwarded-For gets the client appended; one x-request-id; an absolute-form authority
 * is the one Host.
 */
import t from 'tap'
import fc from 'fast-check'
import { downstreamResponseHeaders, upstreamRequestHeaders } from '../../src/proxy/headers.js'

const RUNS = { numRuns: 300 }

const mixedCase = (s: string) =>
  fc.array(fc.boolean(), { minLength: s.length, maxLength: s.length }).map((up) => [...s].map((c, i) => (up[i] ? c.toUpperCase() : c)).join(''))

/** End-to-end names (no name commy itself reads or adds). */
const E2E = ['content-type', 'traceparent', 'tracestate', 'cookie', 'set-cookie', 'accept', 'x-a', 'x-b', 'x-tenant', 'authorization']
const HOP = ['keep-alive', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'proxy-authorization', 'proxy-connection', 'proxy-x']
const value = fc.stringMatching(/^[\x21-\x7e]([\x20-\x7e]{0,10}[\x21-\x7e])?$/)

/** A Connection value: options and end-to-end names, any case, comma lists with odd spacing. */
const connectionValue = fc
  .array(fc.oneof(fc.constantFrom('close', 'keep-alive', 'upgrade'), fc.constantFrom(...E2E)).chain(mixedCase), { minLength: 1, maxLength: 3 })
  .chain((tokens) => fc.constantFrom(', ', ',', ' , ').map((sep) => tokens.join(sep)))

const header = fc.oneof(
  { weight: 5, arbitrary: fc.tuple(fc.constantFrom(...E2E).chain(mixedCase), value) },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...HOP).chain(mixedCase), value) },
  { weight: 1, arbitrary: fc.tuple(mixedCase('connection'), connectionValue) },
  { weight: 1, arbitrary: fc.tuple(mixedCase('x-forwarded-for'), fc.constantFrom('10.0.0.1', '10.0.0.2, 10.0.0.3')) },
  { weight: 1, arbitrary: fc.tuple(mixedCase('x-request-id'), fc.constantFrom('', 'r-1', 'r-2')) },
)
const headers = fc.array(header, { maxLength: 12 })

const flat = (hs: readonly (readonly [string, string])[]) => hs.flat()
const pairs = (raw: readonly string[]) => Array.from({ length: raw.length / 2 }, (_, i) => [raw[2 * i]!, raw[2 * i + 1]!] as const)
const isHop = (lower: string) => lower === 'connection' || HOP.includes(lower) || lower.startsWith('proxy-')
/** Names every Connection header lists (lower case). */
const named = (hs: readonly (readonly [string, string])[]) =>
  new Set(hs.filter(([n]) => n.toLowerCase() === 'connection').flatMap(([, v]) => v.split(',').map((x) => x.trim().toLowerCase())))
const e2eKept = (hs: readonly (readonly [string, string])[]) => {
  const gone = named(hs)
  return hs.filter(([n]) => E2E.includes(n.toLowerCase()) && !gone.has(n.toLowerCase()))
}

t.test('upstream: no hop-by-hop or Connection-named header; end-to-end byte-exact in order', async (t) => {
  fc.assert(
    fc.property(headers, (hs) => {
      const out = pairs(upstreamRequestHeaders(flat(hs), '127.0.0.1', 'http', () => 'gen').headers)
      const gone = named(hs)
      for (const [n] of out) {
        const lower = n.toLowerCase()
        if (isHop(lower) || (E2E.includes(lower) && gone.has(lower))) return false
      }
      return JSON.stringify(out.filter(([n]) => E2E.includes(n.toLowerCase()))) === JSON.stringify(e2eKept(hs))
    }),
    RUNS,
  )
  t.pass('rewritten')
})

t.test('upstream: X-Forwarded-For appended with the client, one x-request-id, X-Forwarded-Proto once', async (t) => {
  fc.assert(
    fc.property(headers, (hs) => {
      const h = upstreamRequestHeaders(flat(hs), '192.0.2.7', 'http', () => 'gen')
      const out = pairs(h.headers)
      const all = (name: string) => out.filter(([n]) => n.toLowerCase() === name).map(([, v]) => v)
      const incoming = named(hs).has('x-forwarded-for') ? [] : hs.filter(([n]) => n.toLowerCase() === 'x-forwarded-for').map(([, v]) => v)
      const xff = all('x-forwarded-for')
      if (xff.length !== 1 || xff[0] !== [...incoming, '192.0.2.7'].join(', ')) return false
      const firstId = hs.find(([n, v]) => n.toLowerCase() === 'x-request-id' && v !== '')?.[1]
      if (h.requestId !== (firstId ?? 'gen')) return false
      if (!named(hs).has('x-request-id') && (all('x-request-id').length !== 1 || all('x-request-id')[0] !== h.requestId)) return false
      return all('x-forwarded-proto').length === 1
    }),
    RUNS,
  )
  t.pass('forwarding headers')
})

t.test('upstream: an absolute-form authority is the one Host, whatever Host headers came', async (t) => {
  const host = fc.constantFrom('a', 'b:8080', '[::1]:1')
  fc.assert(
    fc.property(headers, fc.array(fc.tuple(mixedCase('host'), host), { maxLength: 2 }), host, (hs, hosts, authority) => {
      const out = pairs(upstreamRequestHeaders(flat([...hosts, ...hs]), '127.0.0.1', 'http', () => 'gen', authority).headers)
      const got = out.filter(([n]) => n.toLowerCase() === 'host').map(([, v]) => v)
      const fwdHost = out.filter(([n]) => n.toLowerCase() === 'x-forwarded-host').map(([, v]) => v)
      return got.length === 1 && got[0] === authority && fwdHost.length === 1 && fwdHost[0] === authority
    }),
    RUNS,
  )
  t.pass('Host replaced')
})

t.test('downstream: no hop-by-hop or Connection-named header; end-to-end byte-exact in order', async (t) => {
  fc.assert(
    fc.property(headers, (hs) => {
      const out = pairs(downstreamResponseHeaders(flat(hs)))
      const gone = named(hs)
      for (const [n] of out) {
        const lower = n.toLowerCase()
        if (isHop(lower) || gone.has(lower)) return false
      }
      return JSON.stringify(out.filter(([n]) => E2E.includes(n.toLowerCase()))) === JSON.stringify(e2eKept(hs))
    }),
    RUNS,
  )
  t.pass('rewritten')
})
