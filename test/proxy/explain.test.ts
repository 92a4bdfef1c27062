import t from 'tap'
import { ServiceEndpoints } from '../../src/endpoint/service-endpoints.js'
import { explainRouting, explainText, MAX_LISTED } from '../../src/proxy/explain.js'
import { breakerIn } from '../helpers/breaker.js'

function service(n: number) {
  const set = new ServiceEndpoints({ name: 'svc', panicThreshold: 0, slowStartMs: 0, latencyDecayMs: 10_000, preferLocalZone: false, localZone: undefined, now: () => 0 })
  set.apply('static', Array.from({ length: n }, (_, i) => ({ host: '10.0.0.1', port: 1000 + i, weight: 1, zone: undefined, tags: [] })))
  return set
}

t.test('every endpoint with its state and breaker; plugin facts; reasons for the ineligible', async (t) => {
  const set = service(3)
  const [a, b, c] = set.snapshot.all
  b!.breaker = breakerIn('open')
  set.refresh()
  const pick = { strategy: 'round-robin', scores: [a!, c!].map((ep, i) => ({ address: ep.address, score: i })), note: 'turns' }
  const x = explainRouting(pick, c, 2, set.snapshot, 0, { retryBudget: { left: 7 } })
  t.match(x, { strategy: 'round-robin', picked: c!.address, tries: 2, panic: false, note: 'turns', retryBudget: { left: 7 } })
  t.same(x.endpoints.map((e) => [e.address, e.candidate, e.state, e.breaker]), [
    [a!.address, true, 'healthy', 'closed'],
    [b!.address, false, 'ejected', 'open'],
    [c!.address, true, 'healthy', 'closed'],
  ])
  t.equal(x.endpoints[1]!.reason, 'circuit breaker open')
  t.notOk('reason' in x.endpoints[0]!, 'no reason when eligible')
  t.notOk('omitted' in x)
  t.same(JSON.parse(explainText(x)), x, 'one line of JSON')
})

t.test('large services: at most MAX_LISTED scores and endpoints, the picked one always listed', async (t) => {
  const set = service(200)
  const all = set.snapshot.all
  const picked = all[150]!
  const x = explainRouting({ strategy: 'latency', scores: all.map((ep) => ({ address: ep.address, score: 1 })) }, picked, 1, set.snapshot, 0, undefined)
  t.equal(x.scores.length, MAX_LISTED)
  t.equal(x.endpoints.length, MAX_LISTED)
  t.ok(x.scores.some((s) => s.address === picked.address))
  t.ok(x.endpoints.some((e) => e.address === picked.address))
  t.same(x.omitted, { scores: 200 - MAX_LISTED, endpoints: 200 - MAX_LISTED })
  t.ok(explainText(x).length < 8_000, `the header stays small (${explainText(x).length} bytes)`)
})

t.test('no endpoint could be picked; non-ASCII is escaped (a header must be latin1)', async (t) => {
  const set = service(1)
  set.snapshot.all[0]!.activeHealth = 'unhealthy'
  set.snapshot.all[0]!.activeReason = 'check said “down” ✗'
  set.refresh()
  const x = explainRouting({ strategy: 'random', scores: [] }, undefined, 1, set.snapshot, 0, undefined)
  t.equal(x.picked, null)
  const text = explainText(x)
  t.match(text, /^[\x20-\x7e]+$/, 'ASCII only')
  t.equal((JSON.parse(text) as typeof x).endpoints[0]!.reason, 'check said “down” ✗', 'and decodes back')
})
