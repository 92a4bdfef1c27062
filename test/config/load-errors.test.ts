/**
 * Schema problems become one "file:line:col: key.path: reason" line each; the reason is chosen
 * by TypeBox's error type (unknown key, missing key, union, the rest), never by its message text.
 */
import t from 'tap'
import { parseConfig } from '../../src/config/load.js'
import { ConfigError } from '../../src/errors.js'

const base = (route: string, service = '  a: { endpoints: [{ address: 127.0.0.1:1 }] }', extra = '') => `listeners:
  - name: outbound
    listen: 127.0.0.1:0
    routes:
      - match: { host: a }
${route}
services:
${service}
${extra}`

const cases: Record<string, [text: string, message: string]> = {
  'unknown key': [base('        service: a\n        timeot: 2s'), 'f.yaml:7:9: listeners[0].routes[0].timeot: unknown key "timeot"'],
  'unknown top-level key': [base('        service: a', undefined, 'bogus: 1\n'), 'f.yaml:9:1: bogus: unknown key "bogus"'],
  'missing key': [base('        timeout: 2s'), 'f.yaml:5:9: listeners[0].routes[0].service: required key "service" is missing'],
  'wrong type': [
    base('        service: a', '  a: { endpoints: [{ address: 127.0.0.1:1, weight: heavy }] }'),
    'f.yaml:8:44: services.a.endpoints[0].weight: expected integer, got "heavy"',
  ],
  'below minimum': [
    base('        service: a', '  a: { endpoints: [{ address: 127.0.0.1:1, weight: -5 }] }'),
    'f.yaml:8:44: services.a.endpoints[0].weight: expected integer to be greater or equal to 0, got -5',
  ],
  'union (duration)': [
    base('        service: a\n        timeout: 2 seconds'),
    'f.yaml:7:9: listeners[0].routes[0].timeout: invalid value "2 seconds" (expected a duration such as 500ms, 2s, 1m, 1h)',
  ],
  'union (enum)': [base('        service: a', undefined, 'log: { level: loud }\n'), 'f.yaml:9:8: log.level: invalid value "loud" (expected fatal | error | warn | info | debug | trace | silent)'],
  'with a description': [
    base('        service: a', undefined, 'admin: { token: short }\n'),
    'f.yaml:9:10: admin.token: expected string length greater or equal to 16 (expected bearer token; required when listen is not loopback), got [redacted]',
  ],
  'object expected': [base('        service: a', undefined, 'limits: hello\n'), 'f.yaml:9:1: limits: expected object, got "hello"'],
  'null for an array': [base('        service: a', '  a: { endpoints: null }'), 'f.yaml:8:8: services.a.endpoints: expected array, got null'],
}

for (const [name, [text, message]] of Object.entries(cases)) {
  t.test(name, async (t) => {
    const err = t.throws(() => parseConfig(text, 'f.yaml', { env: {} })) as ConfigError
    t.type(err, ConfigError)
    t.equal(err.code, 'COMMY_ERR_CONFIG')
    t.equal(err.message, message)
  })
}
