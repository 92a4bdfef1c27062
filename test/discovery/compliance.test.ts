/**
 * Every DiscoverySource in src/discovery/ passes the compliance suite: StaticDiscovery (driven by
 * config updates), and GossipDiscovery over a scripted member source and over a real membership
 * on the in-memory network (virtual clock: no socket, no real timer).
 */
import t from 'tap'
import type { ServiceConfig } from '../../src/config/types.js'
import { GossipDiscovery } from '../../src/discovery/gossip.js'
import { StaticDiscovery } from '../../src/discovery/static.js'
import type { NodeMeta } from '../../src/membership/member.js'
import { FakeMembers, member, svc } from '../helpers/fake-members.js'
import { TestCluster } from '../helpers/gossip-cluster.js'
import { runDiscoveryCompliance, type ServiceState } from './compliance.js'

/** The slice of ServiceConfig StaticDiscovery reads. */
function services(state: ServiceState): Record<string, ServiceConfig> {
  return Object.fromEntries(
    Object.entries(state).map(([name, eps]) => [
      name,
      { name, endpoints: eps.map((e) => ({ address: `${e.host}:${e.port}`, host: e.host, port: e.port, weight: e.weight, zone: undefined, tags: [] })) } as unknown as ServiceConfig,
    ]),
  )
}

function announcements(state: ServiceState): NodeMeta {
  return { services: Object.entries(state).flatMap(([name, eps]) => eps.map((e) => svc(name, e.port, { host: e.host, weight: e.weight }))) }
}

runDiscoveryCompliance(t, 'static', (initial) => {
  const source = new StaticDiscovery(services(initial))
  return { source, set: (state) => source.update(services(state)) }
})

runDiscoveryCompliance(t, 'gossip (scripted members)', (initial) => {
  // one member per endpoint, so a service's set is merged from several members
  const members = new FakeMembers()
  const apply = (state: ServiceState) => {
    const next = new Map<string, ReturnType<typeof member>>()
    for (const [name, eps] of Object.entries(state)) for (const e of eps) next.set(`${name}@${e.host}:${e.port}`, member(`${name}@${e.host}:${e.port}`, [svc(name, e.port, { host: e.host, weight: e.weight })]))
    for (const m of members.list) if (!next.has(m.name) && m.state === 'alive') members.set({ ...m, state: 'dead' })
    for (const m of next.values()) members.set(m, members.list.some((x) => x.name === m.name && x.state === 'alive') ? 'update' : 'change')
  }
  apply(initial)
  return { source: new GossipDiscovery(members), set: apply }
})

runDiscoveryCompliance(t, 'gossip (in-memory mesh)', async (initial) => {
  // node b announces the state; the source watches it from node a
  const cluster = new TestCluster({ seed: 31 })
  const a = cluster.add('a')
  const b = cluster.add('b', { meta: announcements(initial) })
  await cluster.startAll()
  const key = (meta: NodeMeta | undefined) => JSON.stringify((meta?.services ?? []).map((s) => `${s.name} ${s.host}:${s.port} w${s.weight}`).sort())
  const seen = (meta: NodeMeta) => () => key(a.membership.members().find((m) => m.name === 'b' && m.state === 'alive')?.meta) === key(meta)
  if ((await cluster.runUntil(seen(announcements(initial)), 10_000)) < 0) throw new Error('a never saw b')
  return {
    source: new GossipDiscovery(a.membership),
    async set(state) {
      const meta = announcements(state)
      b.membership.setLocalMeta(meta)
      if ((await cluster.runUntil(seen(meta), 10_000)) < 0) throw new Error('a never saw b announce the new state')
    },
    close: () => cluster.stopAll(),
  }
})
