/**
 * `commy demo` is a gossiping mesh: no sidecar config lists another's address, yet every sidecar
 * knows the three services (learned over encrypted gossip) and the three members.
 */
import t from 'tap'
import { DEMO_SERVICES, startDemo } from '../../src/demo/demo.js'
import { adminCall } from '../helpers/admin-runtime.js'
import { request } from '../helpers/upstream.js'

t.test('demo: three sidecars, one encrypted gossip mesh, every service learned from its own sidecar', async (t) => {
  const demo = await startDemo({ servicePort: 0, sidecarPort: 0, logLevel: 'silent', accessLog: false })
  t.teardown(() => demo.stop())
  for (const r of demo.runtimes) {
    t.same(Object.values(r.config.services).flatMap((s) => s.endpoints), [], `${r.config.node.name}: no static endpoint`)
    t.ok(r.gossip!.membership.encrypted, 'gossip encrypted')
    t.same(
      r.gossip!.members().map((m) => `${m.name}:${m.state}`).sort(),
      DEMO_SERVICES.map((s) => `${s}-sidecar:alive`).sort(),
      'three members, all alive',
    )
    for (const [i, s] of DEMO_SERVICES.entries()) {
      const eps = r.sidecar.registry.service(s)!.snapshot.all
      t.match(eps.map((e) => ({ source: e.source, node: e.node, port: e.port })), [{ source: 'gossip', node: `${s}-sidecar`, port: demo.services[i]!.port }])
    }
  }
  const members = (await adminCall(demo.dashboards[0]!.slice(0, -1), '/v1/members')).body.members
  t.same(members.find((m) => m.name === 'payments-sidecar')!.services, ['payments'], 'admin /v1/members shows what each member offers')
  t.match(demo.instructions, /v1\/members/)
  const users = demo.sidecars[0]!.address()
  const r = await request(users.port, { path: '/inventory/items/1' })
  t.equal((JSON.parse(r.body) as { service: string }).service, 'inventory', 'users reaches inventory through its sidecar')
})
