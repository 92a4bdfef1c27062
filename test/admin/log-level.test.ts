import t, { type Test } from 'tap'
import { Writable } from 'node:stream'
import pino from 'pino'
import { AdminServer } from '../../src/admin/server.js'
import { Metrics } from '../../src/admin/metrics.js'
import { parseLevelChange } from '../../src/admin/log-level.js'
import { LogLevels } from '../../src/log-levels.js'
import { FakeSidecar } from '../helpers/admin-fake.js'
import { parseProm, total } from '../helpers/prom-parse.js'

const TOKEN = 'test-token-0123456789abcdef'

async function start(t: Test, token?: string) {
  const lines: Record<string, unknown>[] = []
  const stream = new Writable({
    write(chunk: Buffer, _e, cb) {
      for (const l of chunk.toString().split('\n')) if (l !== '') lines.push(JSON.parse(l) as Record<string, unknown>)
      cb()
    },
  })
  const root = pino({ level: 'info' }, stream).child({ node: 'n' })
  const levels = new LogLevels(root)
  const gossip = root.child({ component: 'gossip' })
  const log = root.child({ component: 'admin' })
  const fake = new FakeSidecar()
  const metrics = new Metrics({ source: fake, defaultMetrics: false })
  const server = new AdminServer({ config: { listen: { host: '127.0.0.1', port: 0 }, token, watchConfig: false }, source: fake, actions: fake, metrics, log, logLevels: levels })
  await server.start()
  t.teardown(() => server.stop())
  const call = async (method: string, body?: string, headers: Record<string, string> = {}) => {
    const res = await fetch(`${server.url}/v1/log-level`, { method, body, headers })
    return { status: res.status, body: (await res.json()) as Record<string, unknown> }
  }
  const counted = async () => total(parseProm(await metrics.text()), 'commy_admin_actions_total', { action: 'log-level' })
  return { call, counted, lines, gossip, levels }
}

t.test('GET shows the levels; PUT changes the default or one component, logged and counted', async (t) => {
  const { call, counted, lines, gossip } = await start(t)
  t.same(await call('GET'), { status: 200, body: { level: 'info', components: {}, known: ['admin', 'gossip'] } })
  t.equal(await counted(), 0, 'the counter is there at 0')

  let r = await call('PUT', JSON.stringify({ component: 'gossip', level: 'debug' }))
  t.same(r, { status: 200, body: { level: 'info', components: { gossip: 'debug' }, known: ['admin', 'gossip'] } })
  t.equal(gossip.level, 'debug', 'the gossip logger logs debug now')
  r = await call('PUT', JSON.stringify({ level: 'warn' }))
  t.match(r.body, { level: 'warn', components: { gossip: 'debug' } })
  r = await call('PUT', JSON.stringify({ component: 'gossip', level: null }))
  t.same(r.body.components, {}, 'null: the component follows the default again')
  t.equal(gossip.level, 'warn')
  t.equal(await counted(), 3)
  const changes = lines.filter((l) => l.msg === 'admin: log level changed')
  t.same(
    changes.map((l) => [l.target, l.from, l.to]),
    [['gossip', 'info', 'debug']],
    'logged (the later changes are at info, below the new default warn of the admin logger)',
  )
})

t.test('PUT refuses what it cannot read, changing nothing', async (t) => {
  const { call, counted, levels } = await start(t)
  for (const [body, why] of [
    ['nope', /not JSON/],
    ['[]', /JSON object/],
    ['{"level":"loud"}', /level must be one of/],
    ['{"level":"debug","extra":1}', /unknown key "extra"/],
    ['{"component":"nope","level":"debug"}', /no component "nope"/],
    ['{"component":"gossip","level":"verbose"}', /or null/],
    ['{"component":"","level":"debug"}', /non-empty/],
    [JSON.stringify({ level: 'x'.repeat(5000) }), /larger than 4096/],
  ] as const) {
    const r = await call('PUT', body)
    t.equal(r.status, 400, body.slice(0, 40))
    t.equal(r.body.code, 'COMMY_ERR_ADMIN_BAD_REQUEST')
    t.match(r.body.message, why)
  }
  t.same(levels.view().level, 'info')
  t.equal(await counted(), 0)
  t.equal((await call('POST', '{}')).status, 405)
})

t.test('PUT is a write: the token when one is set, never cross-site', async (t) => {
  const { call } = await start(t, TOKEN)
  const body = JSON.stringify({ level: 'debug' })
  t.equal((await call('PUT', body)).status, 401)
  t.equal((await call('PUT', body, { authorization: `Bearer ${TOKEN}`, 'sec-fetch-site': 'cross-site' })).status, 403)
  t.equal((await call('PUT', body, { authorization: `Bearer ${TOKEN}` })).status, 200)
})

t.test('parseLevelChange', async (t) => {
  const known = (c: string) => c === 'gossip'
  t.same(parseLevelChange({ level: 'trace' }, known), { level: 'trace' })
  t.same(parseLevelChange({ component: 'gossip', level: 'error' }, known), { component: 'gossip', level: 'error' })
  t.same(parseLevelChange({ component: 'gossip', level: null }, known), { component: 'gossip', level: undefined })
  t.throws(() => parseLevelChange({ component: 1, level: 'info' }, known))
  t.throws(() => parseLevelChange(null, known))
})
