/** Passive health shared over gossip: one sidecar alone never lowers an endpoint mesh-wide; a quorum does. */
import t from 'tap'
import { MeshHealth, meshFactor } from '../../src/membership/mesh-health.js'
import { TestCluster } from '../helpers/gossip-cluster.js'

t.test('factor: 1 under the quorum (never less than 2), halving from it, floored', async (t) => {
  t.equal(meshFactor(1, 1), 1, 'a quorum of 1 is raised to 2')
  t.equal(meshFactor(1, 2), 1)
  t.equal(meshFactor(2, 2), 0.5)
  t.equal(meshFactor(3, 2), 0.25)
  t.equal(meshFactor(20, 2), 0.05)
  t.equal(meshFactor(2, 3), 1)
})

t.test('reports: newer replaces older, expiry, forgetting a reporter', async (t) => {
  let now = 0
  const changes: [string, number][] = []
  const h = new MeshHealth({ self: 'me', quorum: 2, ttlMs: 1000, now: () => now, wallNow: () => now, onChange: (e, f) => changes.push([e, f]) })
  const r = (reporter: string, failing: boolean, version: number) => ({ type: 'health' as const, reporter, endpoint: 'e:1', failing, version })
  t.ok(h.record(r('a', true, 1)))
  t.notOk(h.record(r('a', true, 1)), 'same version: not new')
  t.equal(h.factor('e:1'), 1, 'one reporter')
  t.ok(h.record(r('b', true, 1)))
  t.equal(h.factor('e:1'), 0.5, 'two reporters')
  t.same(h.failingReporters('e:1').sort(), ['a', 'b'])
  h.record(r('b', false, 2))
  t.equal(h.factor('e:1'), 1, 'b recovered')
  h.record(r('b', true, 3))
  h.forget('a')
  t.equal(h.factor('e:1'), 1, 'a died: its report is dropped')
  h.record(r('a', true, 5))
  now = 1500
  h.record(r('c', true, 1))
  t.equal(h.factor('e:1'), 0.25)
  h.expire()
  t.equal(h.factor('e:1'), 1, 'old reports expired, c alone is not a quorum')
  t.same(changes, [
    ['e:1', 0.5],
    ['e:1', 1],
    ['e:1', 0.5],
    ['e:1', 1],
    ['e:1', 0.5],
    ['e:1', 0.25],
    ['e:1', 1],
  ])
})

t.test('over gossip: two sidecars reporting lower the weight at the others; recovery restores it', async (t) => {
  const c = new TestCluster({ seed: 11 })
  const names = ['a', 'b', 'c', 'd']
  for (const n of names) c.add(n)
  await c.startAll()
  await c.runUntil(() => c.allSee(names, 'alive'), 4000)
  const events: [string, string, number][] = []
  c.node('d').membership.on('mesh-health', (e, f) => events.push(['d', e, f]))
  const ep = '10.1.1.1:8080'
  c.node('a').membership.reportEndpoint(ep, true)
  await c.run(1000)
  t.ok(
    names.every((n) => c.node(n).membership.meshHealth(ep) === 1),
    'one reporter: nobody lowers it',
  )
  c.node('b').membership.reportEndpoint(ep, true)
  const ms = await c.runUntil(() => ['c', 'd'].every((n) => c.node(n).membership.meshHealth(ep) === 0.5), 2000)
  t.ok(ms >= 0, `quorum reached at c and d after ${ms} ms`)
  t.same(c.node('d').membership.meshReporters(ep).sort(), ['a', 'b'])
  c.node('b').membership.reportEndpoint(ep, false)
  const back = await c.runUntil(() => ['c', 'd'].every((n) => c.node(n).membership.meshHealth(ep) === 1), 2000)
  t.ok(back >= 0, 'recovery restores the weight')
  t.same(events, [
    ['d', ep, 0.5],
    ['d', ep, 1],
  ])
  // a reporter that dies takes its reports with it
  c.node('b').membership.reportEndpoint(ep, true)
  await c.runUntil(() => c.node('d').membership.meshHealth(ep) === 0.5, 2000)
  c.node('a').net.crash()
  const gone = await c.runUntil(() => c.node('d').membership.meshHealth(ep) === 1, 10_000)
  t.ok(gone >= 0, `a died: back to full weight after ${gone} ms`)
  await c.stopAll()
})
