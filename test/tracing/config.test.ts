/** The `tracing` config: defaults, limits, and the exporter headers treated as secrets. */
import t from 'tap'
import { parseConfig } from '../../src/config/load.js'
import { isSecretPath } from '../../src/config/secrets.js'
import { redactConfig } from '../../src/admin/views.js'
import { ConfigError } from '../../src/errors.js'

const base = { listeners: [{ name: 'l', listen: '127.0.0.1:0', routes: [{ match: {}, service: 's' }] }], services: { s: { endpoints: [{ address: '127.0.0.1:1' }] } } }
const parse = (tracing: unknown) => parseConfig(JSON.stringify({ ...base, tracing }), 'test.yaml')

t.test('absent: off; set: defaults filled', async (t) => {
  t.equal(parseConfig(JSON.stringify(base), 'test.yaml').tracing, undefined)
  t.same(parse({ otlp: { endpoint: 'http://127.0.0.1:4318/v1/traces' } }).tracing, {
    otlp: { endpoint: 'http://127.0.0.1:4318/v1/traces', headers: {}, timeoutMs: 10_000 },
    sampling: 1,
    serviceName: 'commy',
  })
  t.same(parse({ otlp: { endpoint: 'https://c/v1/traces', timeout: '2s', headers: { a: 'b' } }, sampling: 0.05, serviceName: 'edge' }).tracing, {
    otlp: { endpoint: 'https://c/v1/traces', headers: { a: 'b' }, timeoutMs: 2000 },
    sampling: 0.05,
    serviceName: 'edge',
  })
})

t.test('refused: sampling outside 0..1, an endpoint that is not http(s), no otlp', async (t) => {
  for (const bad of [{ otlp: { endpoint: 'http://c/v1/traces' }, sampling: 1.5 }, { otlp: { endpoint: 'grpc://c:4317' } }, { sampling: 1 }]) {
    t.throws(() => parse(bad), ConfigError, JSON.stringify(bad))
  }
})

t.test('the exporter headers are secrets: never echoed, redacted in /v1/config', async (t) => {
  t.ok(isSecretPath(['tracing', 'otlp', 'headers', 'x-api-key']))
  t.notOk(isSecretPath(['tracing', 'otlp', 'endpoint']))
  const cfg = parse({ otlp: { endpoint: 'http://c/v1/traces', headers: { 'x-api-key': 'hunter2' } } })
  t.notOk(JSON.stringify(redactConfig(cfg)).includes('hunter2'))
})
