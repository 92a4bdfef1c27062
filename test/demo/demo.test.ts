/**
 * `commy demo` in this process (ports 0): the failure knobs of its echo services make commy's
 * reactions visible — retries hide a failing payments replica from the client while the users
 * sidecar ejects it — and heal; the banner tells how.
 */
import t from 'tap'
import { startDemo } from '../../src/demo/demo.js'
import { request } from '../helpers/upstream.js'

async function post(port: number, path: string) {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { method: 'POST' })
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}

t.test('a failing replica: clients see none of it, the sidecar ejects it; healing and slowing work; the banner shows the knobs', async (t) => {
  const demo = await startDemo({ sidecarPort: 0, servicePort: 0, logLevel: 'silent', accessLog: false })
  t.teardown(() => demo.stop())
  const [users, payments, inventory, payments2] = demo.services
  t.match(demo.instructions, new RegExp(`curl -s -XPOST 'http://127\\.0\\.0\\.1:${payments2!.port}/fail\\?rate=0\\.5'`))
  t.match(demo.instructions, /slow\?ms=300/)
  t.match(demo.instructions, /fail\?rate=0'/)
  t.equal(users!.name, 'users')
  t.equal(payments!.name, 'payments')
  t.equal(payments2!.name, 'payments', 'payments runs twice')

  t.same(await post(payments2!.port, '/fail?rate=1'), { status: 200, body: { service: 'payments', failRate: 1, failHealth: false, slowMs: 0 } })
  t.equal((await post(payments2!.port, '/fail?rate=7')).status, 400)
  t.equal((await fetch(`http://127.0.0.1:${payments2!.port}/fail`)).status, 405, 'only POST turns a knob')
  const direct = await request(payments2!.port, { path: '/charge' })
  t.equal(direct.status, 503, 'the replica fails')

  const port = demo.sidecars[0]!.address().port
  const statuses: number[] = []
  for (let i = 0; i < 30; i++) statuses.push((await request(port, { path: '/charge', headers: { host: 'payments' } })).status)
  t.same([...new Set(statuses)], [200], 'retries hide the failing replica from the client')
  const admin = demo.runtimes[0]!.admin.url()!
  const failing = async () => {
    const body = (await (await fetch(`${admin}/v1/endpoints?service=payments`)).json()) as { endpoints: { address: string; state: string }[] }
    return body.endpoints.find((e) => e.address.endsWith(`:${payments2!.port}`))?.state
  }
  t.equal(await failing(), 'ejected', 'the users sidecar ejected it')

  t.same((await post(payments2!.port, '/fail?rate=0')).body.failRate, 0)
  t.equal((await request(payments2!.port, { path: '/charge' })).status, 200, 'healed')

  t.same((await post(inventory!.port, '/slow?ms=150')).body.slowMs, 150)
  const started = Date.now()
  t.equal((await request(port, { path: '/items/1', headers: { host: 'inventory' } })).status, 200)
  t.ok(Date.now() - started >= 140, 'answered late')
  await post(inventory!.port, '/slow?ms=0')
})
