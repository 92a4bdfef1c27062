/**
 * The TlsStore inside a Runtime (built, not started: no socket): the data plane gets the
 * credentials, the admin shows the node's identity and expiry and exports the expiry gauge, the
 * cert-expiring alert fires, and a reload with a bad TLS file is refused with the old kept.
 */
import t from 'tap'
import { X509Certificate } from 'node:crypto'
import { pino } from 'pino'
import { parseConfig } from '../../src/config/load.js'
import type { SidecarConfig } from '../../src/config/types.js'
import { ConfigError } from '../../src/errors.js'
import type { Logs } from '../../src/log.js'
import { Runtime } from '../../src/runtime.js'
import { makeLeaf } from '../helpers/pki.js'
import { parseProm } from '../helpers/prom-parse.js'
import { tlsFiles, type TlsFiles } from './fixture.js'

function yaml(f: TlsFiles, extra = ''): string {
  return `node: { name: node-a }
admin: { listen: 127.0.0.1:0 }
log: { level: info, accessLog: false }
tls: { ca: ${f.config.tls!.ca}, cert: ${f.config.tls!.cert}, key: ${f.config.tls!.key}, watch: false }
listeners:
  - name: outbound
    listen: 127.0.0.1:0
    routes: [{ match: {}, service: a }]
services:
  a: { endpoints: [{ address: 127.0.0.1:1 }] }
${extra}`
}

function captureLogs(): Logs & { lines: string[] } {
  const lines: string[] = []
  const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(s) })
  return { lines, logger, access: logger, close: async () => {} } as unknown as Logs & { lines: string[] }
}

t.test('runtime: credentials to the sidecar, identity on /v1/node, expiry gauge, cert-expiring alert', async (t) => {
  const f = await tlsFiles()
  const config = parseConfig(yaml(f, 'alerts:\n  rules: [{ name: certs, when: cert-expiring, above: 40d }, { name: soon, when: cert-expiring, above: 72h }]\n'), f.config.file)
  const logs = captureLogs()
  const rt = new Runtime({ config, logs })
  t.teardown(() => rt.stop())
  t.equal(rt.sidecar.credentials, rt.tls, 'the data plane reads the store')
  const notAfter = Date.parse(new X509Certificate(f.leaf.cert).validTo)
  t.same(rt.admin.source.node().tls, { identity: 'spiffe://commy/service/users', notAfter })

  const fams = parseProm(await rt.admin.metrics.text())
  const gauge = fams.get('commy_tls_cert_expiry_timestamp_seconds')
  t.equal(gauge?.type, 'gauge')
  const node = gauge?.samples.find((s) => s.labels.identity === 'spiffe://commy/service/users')
  t.same(node?.labels, { file: f.config.tls!.cert, identity: 'spiffe://commy/service/users' })
  t.equal(node?.value, Math.floor(notAfter / 1000))
  t.ok(gauge?.samples.some((s) => s.labels.file === f.config.tls!.ca && /commy test CA/.test(s.labels.identity!)), 'the CA too')

  rt.health.alerts.evaluate()
  const firing = rt.health.alerts.firing()
  t.same(firing.map((a) => [a.name, a.service, a.endpoint]), [['certs', 'users', f.config.tls!.cert], ['certs', 'ca', f.config.tls!.ca]], 'the 30-day leaf and the 30-day CA are within 40 days')
  t.match(firing[0]!.summary, /spiffe:\/\/commy\/service\/users \(.*cert\.pem\) expires \d{4}-.*, in 29d/)
  t.notOk(firing.some((a) => a.name === 'soon'), '72h: not yet')
  t.ok(logs.lines.every((l) => !l.includes('PRIVATE KEY')))
})

t.test('runtime: a reload with a bad TLS file, or without tls, is refused and the old config and certificates stay', async (t) => {
  const f = await tlsFiles()
  const first = parseConfig(yaml(f), f.config.file)
  let next: () => SidecarConfig = () => first
  const logs = captureLogs()
  const rt = new Runtime({ config: first, logs, loadConfig: () => next() })
  t.teardown(() => rt.stop())
  let rotations = 0
  rt.tls!.onChange(() => rotations++)
  const expired = await makeLeaf(f.ca, { service: 'users', days: -1 })
  const badCert = f.write('expired.pem', expired.cert)
  const badKey = f.write('expired-key.pem', expired.key)
  next = () => parseConfig(yaml({ ...f, config: { ...f.config, tls: { ...f.config.tls!, cert: badCert, key: badKey } } }, 'limits: { drainTimeout: 3s }\n'), f.config.file)
  const r = await rt.reload()
  t.equal(r.ok, false)
  t.match(r.error, /tls\.cert: .*expired\.pem: the certificate expired on/)
  t.equal(rt.config, first, 'the old config serves')
  t.equal(rt.tls!.node.file, f.config.tls!.cert, 'the old certificate stays')
  t.equal(rotations, 0)

  // a good reload (stage, apply, commit) needs started listeners: test/cli/tls.test.ts (SIGHUP)
  next = () => parseConfig(yaml(f).replace(/^tls:.*$/m, ''), f.config.file)
  const removed = await rt.reload()
  t.match(removed.error, /tls: removing the mesh tls needs a restart/)
  t.ok(logs.lines.every((l) => !l.includes('PRIVATE KEY')))
})

t.test('runtime: bad TLS files at construction are a ConfigError (main exits 2)', async (t) => {
  const f = await tlsFiles()
  f.write('key.pem', (await makeLeaf(f.ca, { service: 'users' })).key)
  t.throws(() => new Runtime({ config: parseConfig(yaml(f), f.config.file), logs: captureLogs() }), ConfigError)
})

t.test('config: cert-expiring takes days or a duration (default 7d) and needs tls', async (t) => {
  const f = await tlsFiles()
  const rules = (above: string) => parseConfig(yaml(f, `alerts:\n  rules: [{ name: c, when: cert-expiring${above} }]\n`), 'f.yaml').alerts.rules[0]!.above
  t.equal(rules(', above: 7d'), 7 * 86_400_000)
  t.equal(rules(', above: 72h'), 72 * 3_600_000)
  t.equal(rules(''), 7 * 86_400_000)
  t.throws(() => rules(', above: 5%'), { message: /alerts\.rules\[0\]\.above: cert-expiring threshold is the time left/ })
  const noTls = yaml(f, 'alerts:\n  rules: [{ name: c, when: cert-expiring }]\n').replace(/^tls:.*$/m, '')
  t.throws(() => parseConfig(noTls, 'f.yaml'), { message: /alerts\.rules\[0\]\.when: cert-expiring watches the mesh certificates: it needs tls/ })
})
