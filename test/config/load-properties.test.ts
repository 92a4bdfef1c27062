/**
 * Property-based tests (fast-check) for the config loader: whatever text arrives, the loader either
 * returns a frozen config or throws a ConfigError whose every issue has a key path and a line —
 * never another exception; a value at a secret's path never appears in the error; a valid config
 * survives a round trip through its own YAML unchanged. Runs are bounded and seeded from the
 * fast-check default (a failure prints its seed and shrunk counterexample).
 */
import t from 'tap'
import fc from 'fast-check'
import { stringify } from 'yaml'
import { parseConfig } from '../../src/config/load.js'
import { isSecretPath } from '../../src/config/secrets.js'
import { ConfigError } from '../../src/errors.js'

const base = () => ({
  listeners: [{ name: 'out', listen: '127.0.0.1:15001', routes: [{ match: { pathPrefix: '/' }, service: 'svc' }] }],
  services: { svc: { endpoints: [{ address: '127.0.0.1:8080' }] } },
})

/** Loads, and checks the only two allowed outcomes; returns the error when there was one. */
function load(text: string): ConfigError | undefined {
  let err: unknown
  try {
    const c = parseConfig(text, 'prop.yaml', { env: {} })
    if (!Object.isFrozen(c)) throw new Error('config not frozen')
    return undefined
  } catch (e) {
    err = e
  }
  if (!(err instanceof ConfigError)) throw err
  for (const i of err.issues) {
    if (typeof i.path !== 'string' || i.message === '') throw new Error(`issue without path or message: ${JSON.stringify(i)}`)
    if (i.line !== undefined && i.line < 1) throw new Error(`bad line ${i.line}`)
  }
  if (!err.message.startsWith('prop.yaml')) throw new Error(`error does not name the file: ${err.message}`)
  return err
}

t.test('arbitrary text: a config or a ConfigError with file, path and line, nothing else', async (t) => {
  fc.assert(
    fc.property(fc.string({ maxLength: 300 }), (text) => {
      load(text)
    }),
    { numRuns: 400 },
  )
  t.pass('400 random texts')
})

/** A value at any key of a valid config replaced by an arbitrary JSON value. */
const mutated = fc
  .tuple(
    fc.constantFrom<(string | number)[]>(
      ['listeners', 0, 'listen'],
      ['listeners', 0, 'routes', 0, 'timeout'],
      ['listeners', 0, 'routes', 0, 'retries'],
      ['services', 'svc', 'endpoints', 0, 'weight'],
      ['services', 'svc', 'strategy'],
      ['services', 'svc', 'healthCheck'],
      ['limits'],
      ['limits', 'maxHeaderCount'],
      ['limits', 'requestBodyIdleTimeout'],
      ['gossip'],
      ['admin'],
      ['log', 'level'],
      ['alerts'],
    ),
    fc.jsonValue({ maxDepth: 3 }),
  )
  .map(([path, value]) => {
    const doc: Record<string, unknown> = base()
    let at: Record<string | number, unknown> = doc
    path.slice(0, -1).forEach((seg, i) => {
      at[seg] ??= typeof path[i + 1] === 'number' ? [] : {}
      at = at[seg] as Record<string | number, unknown>
    })
    at[path[path.length - 1]!] = value
    return doc
  })

t.test('a valid config with one value replaced by anything: loaded or refused with a path, never a crash', async (t) => {
  fc.assert(
    fc.property(mutated, (doc) => {
      load(stringify(doc))
    }),
    { numRuns: 500 },
  )
  t.pass('500 mutated configs')
})

/** A secret that is easy to spot in any output. */
const secret = fc.stringMatching(/^[A-Za-z0-9]{6,40}$/).map((s) => `S3CR3T${s}`)

t.test('a value at a secret path is never echoed in a config error, whatever its type', async (t) => {
  const paths: (string | number)[][] = [
    ['admin', 'token'],
    ['gossip', 'key'],
    ['gossip', 'keys'],
    ['alerts', 'webhooks', 0, 'url'],
    ['alerts', 'webhooks', 0, 'headers'],
    ['services', 'svc', 'healthCheck', 'headers', 'authorization'],
  ]
  for (const p of paths) t.ok(isSecretPath(p), `${p.join('.')} is a secret path`)
  t.notOk(isSecretPath(['services', 'svc', 'healthCheck', 'headers', 'x-env']), 'a harmless header is not')
  t.notOk(isSecretPath(['listeners', 0, 'listen']))
  fc.assert(
    fc.property(
      fc.constantFrom(...paths),
      secret,
      fc.constantFrom<(s: string) => unknown>(
        (s) => s.slice(0, 12), // too short (admin.token) / not base64 (gossip keys)
        (s) => [s], // wrong type: an array holding it
        (s) => ({ value: s }), // wrong type: an object holding it
        (s) => `not a url ${s}`,
        (s) => 12345 + s.length, // a number: nothing to leak, but still refused
      ),
      (path, s, shape) => {
        const doc: Record<string, unknown> = {
          ...base(),
          admin: { listen: '127.0.0.1:15000' },
          gossip: { listen: '127.0.0.1:7946', seeds: [] },
          alerts: { webhooks: [{ url: 'http://127.0.0.1:9/x' }] },
        }
        ;(doc['services'] as Record<string, Record<string, unknown>>)['svc']!['healthCheck'] = { http: { path: '/h' }, headers: {} }
        let at: Record<string | number, unknown> = doc
        for (const seg of path.slice(0, -1)) at = (at[seg] ??= {}) as Record<string | number, unknown>
        const value = shape(s)
        at[path[path.length - 1]!] = value
        const err = load(stringify(doc))
        const leaked = err !== undefined && (err.message.includes(s) || err.message.includes(s.slice(0, 12)))
        return !leaked
      },
    ),
    { numRuns: 300 },
  )
  t.pass('300 broken secrets, none echoed')
})

t.test('a valid config round-trips through its own YAML: the same normalized config', async (t) => {
  const service = fc.record({
    strategy: fc.constantFrom('round-robin', 'least-connections', 'random', 'weighted', 'latency'),
    endpoints: fc.uniqueArray(fc.integer({ min: 1024, max: 65535 }), { minLength: 1, maxLength: 4 }).map((ports) => ports.map((p) => ({ address: `127.0.0.1:${p}` }))),
  })
  const doc = fc.record({
    services: fc.dictionary(fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/), service, { minKeys: 1, maxKeys: 3 }),
    timeout: fc.constantFrom<number | string>(0, '250ms', '2s', '1m'),
    limits: fc.record({ maxHeaderCount: fc.integer({ min: 1, max: 1000 }), maxConnections: fc.integer({ min: 1, max: 100_000 }) }),
  })
  fc.assert(
    fc.property(doc, (d) => {
      const names = Object.keys(d.services)
      const raw = {
        limits: d.limits,
        listeners: [{ name: 'out', listen: '127.0.0.1:15001', routes: names.map((s) => ({ match: { pathPrefix: `/${s}` }, service: s, timeout: d.timeout })) }],
        services: d.services,
      }
      const once = parseConfig(stringify(raw), 'a.yaml', { env: {} })
      const twice = parseConfig(stringify(JSON.parse(JSON.stringify(raw))), 'a.yaml', { env: {} })
      return JSON.stringify(once) === JSON.stringify(twice) && once.limits.maxHeaderCount === d.limits.maxHeaderCount
    }),
    { numRuns: 100 },
  )
  t.pass('100 generated configs')
})
