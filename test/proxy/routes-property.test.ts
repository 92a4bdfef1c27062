/**
 * Property-based tests (fast-check) of the route matcher against a reference model: first match
 * wins; Host compared without port and case; an absolute-form authority instead of the Host
 * header; `*.domain` for sub-domains only; path prefixes; exact header values.
 */
import t from 'tap'
import fc from 'fast-check'
import type { RouteMatchConfig } from '../../src/config/types.js'
import { RouteTable } from '../../src/proxy/routes.js'

const RUNS = { numRuns: 300 }

const mixedCase = (s: string) =>
  fc.array(fc.boolean(), { minLength: s.length, maxLength: s.length }).map((up) => [...s].map((c, i) => (up[i] ? c.toUpperCase() : c)).join(''))

const hostName = fc.constantFrom('a', 'b', 'example.com', 'a.example.com', 'x.a.example.com', 'payments', '[::1]', '10.0.0.1')
const routeHost = fc.option(fc.oneof(hostName, fc.constantFrom('*.example.com', '*.a.example.com')), { nil: undefined })
const segment = fc.constantFrom('', '/', '/users', '/users/1', '/u', '/api', '/api/v1', '/x?y=1')
const headerName = fc.constantFrom('x-canary', 'x-tenant')
const headerValue = fc.constantFrom('1', '2', 'blue')

const route: fc.Arbitrary<RouteMatchConfig> = fc.record({
  host: routeHost,
  pathPrefix: fc.option(fc.constantFrom('/', '/users', '/api', '/api/v1', '/u'), { nil: undefined }),
  headers: fc.uniqueArray(fc.tuple(headerName, headerValue), { maxLength: 2, selector: ([n]) => n }),
})

/** A request: Host (maybe with a port, any case), path, headers (names any case). */
const query = fc.record({
  host: fc.option(fc.tuple(hostName.chain(mixedCase), fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined })), { nil: undefined }),
  path: segment,
  headers: fc.array(fc.tuple(headerName.chain(mixedCase), headerValue), { maxLength: 3 }),
})
type Query = typeof query extends fc.Arbitrary<infer Q> ? Q : never

const hostHeader = (h: Query['host']) => (h === undefined ? undefined : h[1] === undefined ? h[0] : `${h[0]}:${h[1]}`)
const rawOf = (q: Query) => {
  const raw: string[] = []
  const host = hostHeader(q.host)
  if (host !== undefined) raw.push('Host', host)
  for (const [n, v] of q.headers) raw.push(n, v)
  return raw
}

/** The reference: the README's rules, written the obvious way. */
function model(routes: readonly RouteMatchConfig[], q: Query): number | undefined {
  const host = q.host === undefined ? '' : q.host[0].toLowerCase()
  const first = (name: string) => q.headers.find(([n]) => n.toLowerCase() === name)?.[1]
  const i = routes.findIndex((r) => {
    if (r.host !== undefined) {
      if (r.host.startsWith('*.')) {
        if (!(host.endsWith(r.host.slice(1)) && host.length > r.host.length - 1)) return false
      } else if (r.host !== host) return false
    }
    if (r.pathPrefix !== undefined && !q.path.startsWith(r.pathPrefix)) return false
    return r.headers.every(([n, v]) => first(n) === v)
  })
  return i < 0 ? undefined : i
}

const table = (routes: readonly RouteMatchConfig[]) => new RouteTable(routes.map((match, i) => ({ match, target: i })))

t.test('the matcher agrees with the reference model (first match wins)', async (t) => {
  fc.assert(
    fc.property(fc.array(route, { maxLength: 6 }), query, (routes, q) => {
      return table(routes).match({ host: undefined, path: q.path, rawHeaders: rawOf(q) }) === model(routes, q)
    }),
    RUNS,
  )
  t.pass('agrees')
})

t.test('Host case and port never change the route', async (t) => {
  fc.assert(
    fc.property(fc.array(route, { maxLength: 6 }), hostName, fc.integer({ min: 1, max: 65535 }), segment, (routes, host, port, path) => {
      const rt = table(routes)
      const plain = rt.match({ host: undefined, path, rawHeaders: ['host', host] })
      return rt.match({ host: undefined, path, rawHeaders: ['HOST', `${host.toUpperCase()}:${port}`] }) === plain
    }),
    RUNS,
  )
  t.pass('insensitive')
})

t.test('an absolute-form authority routes exactly as the same Host header would, whatever Host says', async (t) => {
  fc.assert(
    fc.property(fc.array(route, { maxLength: 6 }), hostName, hostName, segment, (routes, authority, other, path) => {
      const rt = table(routes)
      return rt.match({ host: authority, path, rawHeaders: ['Host', other] }) === rt.match({ host: undefined, path, rawHeaders: ['Host', authority] })
    }),
    RUNS,
  )
  t.pass('the authority wins')
})

t.test('a path prefix matches every path that starts with it, and no other', async (t) => {
  fc.assert(
    fc.property(fc.stringMatching(/^\/[a-z/]{0,8}$/), fc.stringMatching(/^[a-z/?=]{0,8}$/), fc.stringMatching(/^\/[a-z/]{0,8}$/), (prefix, rest, other) => {
      const rt = table([{ host: undefined, pathPrefix: prefix, headers: [] }])
      const q = (path: string) => rt.match({ host: undefined, path, rawHeaders: [] })
      return q(prefix + rest) === 0 && q(other) === (other.startsWith(prefix) ? 0 : undefined)
    }),
    RUNS,
  )
  t.pass('prefixes')
})
