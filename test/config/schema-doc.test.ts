/**
 * The schema editors read (`commy schema`): every key described in its own words, `$schema`, and
 * every documented default is normalize's — a file that sets a key to its documented default
 * normalizes to the same config as a file that leaves it out.
 */
import t from 'tap'
import { parseConfig } from '../../src/config/load.js'
import { Address, Duration } from '../../src/config/schema.js'
import { DOCUMENTED_DEFAULTS, DOCUMENTED_EXAMPLES, durationText, keyPaths, schemaDocument, SCHEMA_DIALECT } from '../../src/config/schema-doc.js'
import { parseDuration } from '../../src/config/duration.js'

/** Descriptions of shared types: a key that only has one of these says nothing of its own. */
const GENERIC = new Set([Duration.description, Address.description, 'a name: letters, digits, _ . -'])

/** A file that has every section a documented default lives in (one of each list item). */
function base(): Record<string, unknown> {
  return {
    node: { name: 'doc-test' },
    admin: {},
    log: {},
    limits: {},
    listeners: [{ name: 'l', listen: '127.0.0.1:0', routes: [{ match: { pathPrefix: '/' }, service: 'svc', retries: { backoff: {} } }] }],
    services: {
      svc: {
        endpoints: [{ address: '127.0.0.1:1' }],
        breaker: {},
        healthCheck: { http: {} },
        outlierDetection: {},
        concurrency: {},
        retryBudget: {},
        upstream: {},
      },
    },
    gossip: { listen: '127.0.0.1:0' },
    local: { services: [{ name: 'loc', address: '127.0.0.1:2', healthCheck: { http: {} } }] },
    health: { history: {} },
    tls: { ca: 'ca.pem', cert: 'node.pem', key: 'node.key' },
    tracing: { otlp: { endpoint: 'http://127.0.0.1:4318/v1/traces' } },
    alerts: { rules: [{ name: 'r', when: 'no-healthy-endpoint' }], webhooks: [{ url: 'http://127.0.0.1:9/' }] },
  }
}

/** Sets `value` at a documented key path (`*` = the service `svc`, `[]` = the first item). */
function setAt(doc: Record<string, unknown>, path: string, value: unknown): void {
  const steps = path.split('.').flatMap((p) => (p.endsWith('[]') ? [p.slice(0, -2), 0] : [p === '*' ? 'svc' : p]))
  let at = doc as Record<string | number, unknown>
  for (const step of steps.slice(0, -1)) {
    at[step] ??= {}
    at = at[step] as Record<string | number, unknown>
  }
  at[steps[steps.length - 1]!] = value
}

const normalized = (doc: Record<string, unknown>) => {
  const { version: _v, file: _f, ...rest } = parseConfig(JSON.stringify(doc), 'doc.yaml')
  return JSON.parse(JSON.stringify(rest)) as unknown
}

t.test('every key of the schema is described in its own words', async (t) => {
  const doc = schemaDocument()
  t.equal(doc.$schema, SCHEMA_DIALECT)
  const keys = keyPaths(doc)
  t.ok(keys.size > 150, `${keys.size} keys walked`)
  const undescribed = [...keys].filter(([, s]) => typeof s.description !== 'string' || s.description === '' || GENERIC.has(s.description)).map(([p]) => p)
  t.same(undescribed, [], 'no key without a description of its own')
})

t.test('every documented default is what normalize applies', async (t) => {
  const keys = keyPaths(schemaDocument())
  const plain = normalized(base())
  let checked = 0
  for (const [path, value] of Object.entries(DOCUMENTED_DEFAULTS)) {
    t.same(keys.get(path)?.default, value, `${path}: in the schema`)
    const doc = base()
    setAt(doc, path, value)
    t.same(normalized(doc), plain, `${path}: ${JSON.stringify(value)} is the default`)
    checked++
  }
  t.ok(checked > 90, `${checked} defaults checked`)
  // the comparison sees a value that is not the default
  const other = base()
  setAt(other, 'services.*.breaker.volumeThreshold', 21)
  t.not(JSON.stringify(normalized(other)), JSON.stringify(plain), 'a value other than the default changes the config')
})

t.test('examples sit on keys that exist; durations are written as people write them', async (t) => {
  const keys = keyPaths(schemaDocument())
  for (const path of Object.keys(DOCUMENTED_EXAMPLES)) t.ok(keys.get(path)?.examples, `${path} has examples`)
  t.same([30_000, 3_600_000, 300_000, 250, 0, 1500].map(durationText), ['30s', '1h', '5m', '250ms', '0ms', '1500ms'])
  for (const ms of [30_000, 3_600_000, 250, 0, 1500]) t.equal(parseDuration(durationText(ms)), ms, `${durationText(ms)} reads back`)
})
