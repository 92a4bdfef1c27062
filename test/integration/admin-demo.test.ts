/**
 * `commy demo` runs each sidecar with its admin server: the printed dashboard URLs answer.
 */
import t from 'tap'
import { startDemo } from '../../src/demo/demo.js'
import { adminCall } from '../helpers/admin-runtime.js'
import { request } from '../helpers/upstream.js'

t.test('demo sidecars have dashboards, and the instructions print their URLs', async (t) => {
  const demo = await startDemo({ servicePort: 0, sidecarPort: 0, logLevel: 'silent', accessLog: false })
  t.teardown(() => demo.stop())
  t.equal(demo.dashboards.length, 4, 'users, payments (two replicas) and inventory sidecars')
  for (const url of demo.dashboards) {
    t.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/)
    t.ok(demo.instructions.includes(`dashboard ${url}`), `printed: ${url}`)
    const base = url.slice(0, -1)
    t.equal((await adminCall(base, '/readyz')).status, 200)
    const page = await adminCall(base, '/')
    t.match(page.headers.get('content-type'), /text\/html/)
  }
  t.match(demo.instructions, /Dashboard \(users' sidecar\): http:\/\/127\.0\.0\.1:\d+\//)
  const users = demo.sidecars[0]!.address()
  t.equal((await request(users.port, { path: '/x', headers: { host: 'payments' } })).status, 200)
  const eps = (await adminCall(demo.dashboards[0]!.slice(0, -1), '/v1/endpoints')).body.endpoints
  t.equal(eps.length, 4)
  const payments = eps.filter((e) => e.service === 'payments')
  t.equal(payments.length, 2, 'both payments replicas')
  t.equal(payments.reduce((n, e) => n + e.requests, 0), 1, 'the request shows on the users sidecar dashboard')
  const node = (await adminCall(demo.dashboards[1]!.slice(0, -1), '/v1/node')).body
  t.equal(node.name, 'payments-sidecar')
})
