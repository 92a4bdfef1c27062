/**
 * `commy demo` is a gossiping mesh: no sidecar config lists another's address, yet every sidecar
 * knows the three services (learned over encrypted gossip, payments from its two replicas) and the four members.
 */
import t from 'tap'
import { DEMO_NODES, DEMO_SERVICES, startDemo } from '../../src/demo/demo.js'
import { adminCall } from '../helpers/admin-runtime.js'
import { request } from '../helpers/upstream.js'

t.test('demo: four sidecars, one encrypted gossip mesh, every service learned from its own sidecar', async (t) => {
  const demo = await startDemo({ servicePort: 0, sidecarPort: 0, logLevel: 'silent', accessLog: false })
  t.teardown(() => demo.stop())
  for (const r of demo.runtimes) {
    t.same(Object.values(r.config.services).flatMap((s) => s.endpoints), [], `${r.config.node.name}: no static endpoint`)
    t.ok(r.gossip!.membership.encrypted, 'gossip encrypted')
    t.same(
      r.gossip!.members().map((m) => `${m.name}:${m.state}`).sort(),
      DEMO_NODES.map((n) => `${n.node}-sidecar:alive`).sort(),
      'four members, all alive',
    )
    for (const s of DEMO_SERVICES) {
      const eps = r.sidecar.registry.service(s)!.snapshot.all.map((e) => ({ source: e.source, node: e.node, port: e.port })).sort((a, b) => a.port - b.port)
      const want = DEMO_NODES.flatMap((n, i) => (n.service === s ? [{ source: 'gossip', node: `${n.node}-sidecar`, port: demo.services[i]!.port }] : [])).sort((a, b) => a.port - b.port)
      t.same(eps, want, `${s}: every replica, from its own sidecar`)
    }
  }
  const members = (await adminCall(demo.dashboards[0]!.slice(0, -1), '/v1/members')).body.members
  t.same(members.find((m) => m.name === 'payments-sidecar')!.services, ['payments'], 'admin /v1/members shows what each member offers')
  t.match(demo.instructions, /v1\/members/)
  const users = demo.sidecars[0]!.address()
  const r = await request(users.port, { path: '/inventory/items/1' })
  t.equal((JSON.parse(r.body) as { service: string }).service, 'inventory', 'users reaches inventory through its sidecar')
})
