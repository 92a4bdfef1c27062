/**
 * Every kind of log line a running commy writes is one valid JSON object without a repeated key
 * (a strict parser throws on one, as Elasticsearch refuses such a document): two sidecars in
 * this process, at debug, doing requests (retried, failed, refused), a breaker opening, an
 * ejection, gossip (join, leave), local health checks, an alert, a log-level change, reloads (one
 * applied, one refused). The second sidecar logs `format: text`: one line per record, columns first.
 */
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { loadConfigFile } from '../../src/config/load.js'
import { createLogs } from '../../src/log.js'
import { Runtime } from '../../src/runtime.js'
import { tempFile } from '../helpers/cli.js'
import { closedPort, request, startUpstream } from '../helpers/upstream.js'
import { until } from '../helpers/runtime.js'
import { parseStrict } from '../helpers/strict-json.js'

const key = randomBytes(32).toString('base64')

function configA(o: { good: number; bad: number; closed: number; level: string }): string {
  return JSON.stringify({
    node: { name: 'a' },
    admin: { listen: '127.0.0.1:0' },
    log: { level: o.level, format: 'json' },
    limits: { maxUriLength: 256 },
    listeners: [
      {
        name: 'out',
        listen: '127.0.0.1:0',
        routes: [
          { name: 'flaky', match: { host: 'flaky' }, service: 'flaky', retries: { attempts: 3, on: [503, 'connect-failure'] } },
          { name: 'down', match: { host: 'down' }, service: 'down' },
          { name: 'remote', match: { host: 'b-svc' }, service: 'b-svc' },
        ],
      },
    ],
    services: {
      flaky: {
        endpoints: [{ address: `127.0.0.1:${o.bad}` }, { address: `127.0.0.1:${o.good}` }],
        breaker: { volumeThreshold: 2, errorThresholdPercentage: 50 },
        outlierDetection: { consecutiveErrors: 2, maxEjectionPercent: 50 },
      },
      down: { endpoints: [{ address: `127.0.0.1:${o.closed}` }] },
      'b-svc': {},
    },
    gossip: { listen: '127.0.0.1:0', key, cluster: 'logs', profile: 'local' },
    local: { services: [{ name: 'a-svc', address: `127.0.0.1:${o.good}`, healthCheck: { http: { path: '/' }, interval: '200ms' } }] },
    alerts: { rules: [{ name: 'errors', when: 'error-rate', above: '1%', minRequests: 1 }, { name: 'breaker', when: 'breaker-open' }] },
  })
}

function configB(o: { good: number; seed: string }): string {
  return JSON.stringify({
    node: { name: 'b' },
    admin: { listen: '127.0.0.1:0' },
    log: { level: 'debug', format: 'text' },
    listeners: [{ name: 'out', listen: '127.0.0.1:0', routes: [{ name: 'a', match: { host: 'a-svc' }, service: 'a-svc' }] }],
    services: { 'a-svc': {} },
    gossip: { listen: '127.0.0.1:0', key, cluster: 'logs', profile: 'local', seeds: [o.seed] },
    local: { services: [{ name: 'b-svc', address: `127.0.0.1:${o.good}`, healthCheck: { http: { path: '/' }, interval: '200ms' } }] },
  })
}

function node(yaml: string, name: string) {
  const file = tempFile(`${name}.yaml`, yaml)
  const load = () => loadConfigFile(file, { env: {} })
  const config = load()
  const chunks: string[] = []
  const logs = createLogs(config.log, { destination: { write: (s: string) => void chunks.push(s) }, base: { node: config.node.name } })
  const runtime = new Runtime({ config, logs, loadConfig: load })
  const lines = () => chunks.join('').split('\n').filter((l) => l !== '')
  return { runtime, logs, file, lines }
}

async function admin(r: Runtime, method: string, path: string, body?: string) {
  const res = await fetch(`${r.admin.url()!}${path}`, { method, body, headers: body ? { 'content-type': 'application/json' } : {} })
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}

t.test('every line kind parses strictly (no repeated key); text lines are one record each', async (t) => {
  const good = await startUpstream('good')
  const bad = await startUpstream('bad', (req, res) => {
    req.resume()
    res.writeHead(503).end('no')
  })
  const closed = await closedPort()
  const a = node(configA({ good: good.port, bad: bad.port, closed, level: 'debug' }), 'a')
  await a.runtime.start()
  const gossipA = a.runtime.gossip!.address()!
  const b = node(configB({ good: good.port, seed: `${gossipA.host}:${gossipA.port}` }), 'b')
  await b.runtime.start()
  t.teardown(async () => {
    await Promise.all([a.runtime.stop(), b.runtime.stop()])
    await Promise.all([a.logs.close(), b.logs.close(), good.close(), bad.close()])
  })
  t.ok(await until(() => (a.runtime.sidecar.registry.service('b-svc')?.snapshot.all.length ?? 0) > 0, 10_000), 'a learned b-svc over gossip')

  const port = a.runtime.sidecar.address().port
  for (let i = 0; i < 20; i++) await request(port, { path: '/x', headers: { host: 'flaky', 'user-agent': 'test "agent"\t\u00ff' } })
  for (let i = 0; i < 3; i++) await request(port, { headers: { host: 'down' } })
  t.equal((await request(port, { headers: { host: 'b-svc' } })).status, 200)
  t.equal((await request(port, { headers: { host: 'nowhere' } })).status, 404)
  t.equal((await request(port, { path: `/${'x'.repeat(300)}`, headers: { host: 'flaky' } })).status, 414)
  const put = await admin(a.runtime, 'PUT', '/v1/log-level', JSON.stringify({ component: 'gossip', level: 'trace' }))
  t.match(put, { status: 200, body: { level: 'debug', components: { gossip: 'trace' } } })
  writeFileSync(a.file, configA({ good: good.port, bad: bad.port, closed, level: 'trace' }))
  t.equal((await admin(a.runtime, 'POST', '/v1/reload')).status, 200)
  t.match((await admin(a.runtime, 'GET', '/v1/log-level')).body, { level: 'trace', components: { gossip: 'trace' } }, 'the reload applied log.level')
  writeFileSync(a.file, '{"listeners": 1}')
  t.equal((await admin(a.runtime, 'POST', '/v1/reload')).status, 422)
  t.ok(await until(() => a.lines().some((l) => l.includes('"msg":"alert firing')), 8_000), 'an alert fired')
  await b.runtime.drain()
  t.ok(await until(() => a.lines().some((l) => l.includes('"to":"left"')), 5_000), 'b left')

  t.throws(() => parseStrict('{"component":"health","x":{"a":1},"component":"local-health"}'), 'the parser refuses a repeated key')
  const records = a.lines().map((l) => parseStrict(l) as Record<string, unknown>)
  const seen = (pred: (r: Record<string, unknown>) => boolean, what: string) => t.ok(records.some(pred), what)
  seen((r) => r.log === 'access' && Array.isArray(r.tries), 'access lines with tries')
  seen((r) => r.log === 'access' && r.status === 414, 'refusals')
  seen((r) => r.component === 'gossip', 'gossip')
  seen((r) => r.component === 'health' && r.checks === 'local', 'local health checks')
  seen((r) => typeof r.msg === 'string' && r.msg.includes('circuit breaker'), 'breaker')
  seen((r) => r.msg === 'config reloaded', 'reload')
  seen((r) => r.msg === 'config reload refused', 'refused reload')
  seen((r) => r.msg === 'log settings applied', 'log settings applied on reload')
  seen((r) => r.msg === 'admin: log level changed' && r.target === 'gossip' && r.to === 'trace', 'log level change')
  seen((r) => typeof r.msg === 'string' && r.msg.startsWith('alert firing') && typeof r.alert === 'object', 'alerts')
  const access = records.find((r) => r.log === 'access' && r.userAgent !== undefined)!
  t.match(access, { node: 'a', host: 'flaky', client: '127.0.0.1', protocol: 'HTTP/1.1', userAgent: 'test "agent"\t\u00ff' })

  const text = b.lines()
  t.ok(text.length > 5)
  for (const l of text) {
    if (!/^\d{4}-\d\d-\d\dT\S+Z (TRACE|DEBUG|INFO |WARN |ERROR|FATAL) \S+ /.test(l)) t.fail(`not a text record: ${l}`)
  }
  t.ok(text.some((l) => / INFO {2}gossip .* node=b /.test(l)), 'component lines in text')
})
