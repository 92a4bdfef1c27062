/**
 * Mesh security inputs of an endpoint: the tls policy (strict / permissive / no tls) and
 * identity refusals; neither is overridden by panic routing.
 */
import t from 'tap'
import { ManualClock } from '../../src/clock.js'
import { meshPolicy, type EndpointInfo } from '../../src/endpoint/endpoint.js'
import { ServiceEndpoints } from '../../src/endpoint/service-endpoints.js'
import { IdentityRefusals } from '../../src/transport/identity-refusals.js'

const info = (port: number, over: Partial<EndpointInfo> = {}): EndpointInfo => ({ host: '10.0.0.1', port, weight: 1, zone: undefined, tags: [], node: `n${port}`, ...over })

t.test('meshPolicy: strict refuses plaintext from discovery; permissive allows it; no tls cannot use mTLS; static never refused', async (t) => {
  const ep = (source: string, mtls: boolean) => ({ source, mtls, node: 'b' as string | undefined })
  t.equal(meshPolicy('strict', ep('gossip', false)), 'plaintext refused (tls.mode: strict): announced without mTLS by node b')
  t.equal(meshPolicy('strict', ep('gossip', true)), '')
  t.equal(meshPolicy('permissive', ep('gossip', false)), '')
  t.equal(meshPolicy('permissive', ep('gossip', true)), '')
  t.equal(meshPolicy('none', ep('gossip', false)), '')
  t.equal(meshPolicy('none', ep('gossip', true)), 'announced at an mTLS inbound by node b, and this sidecar has no tls configured')
  for (const mode of ['none', 'strict', 'permissive'] as const) t.equal(meshPolicy(mode, ep('static', false)), '', `static under ${mode}`)
})

t.test('ServiceEndpoints applies the policy; a reload changes the mode; panic never picks a refused endpoint', async (t) => {
  const clock = new ManualClock()
  const opts = { name: 's', panicThreshold: 50, slowStartMs: 0, latencyDecayMs: 10_000, preferLocalZone: false, localZone: undefined, now: () => clock.now() }
  const s = new ServiceEndpoints({ ...opts, meshMode: 'strict' })
  s.apply('gossip', [info(1), info(2, { mtls: true })])
  t.same(s.snapshot.eligible.map((e) => e.port), [2])
  t.match(s.get('10.0.0.1:1')!.eligibility(clock.now()), { eligible: false, state: 'ejected', reason: /plaintext refused/ })
  // the mTLS endpoint goes unhealthy: panic routing takes every serving endpoint, but never the refused one
  s.get('10.0.0.1:2')!.activeHealth = 'unhealthy'
  s.refresh()
  t.equal(s.snapshot.panic, true)
  t.same(s.snapshot.eligible.map((e) => e.port), [2], 'panic: the refused plaintext endpoint is still out')
  s.get('10.0.0.1:2')!.activeHealth = 'healthy'
  s.reconfigure({ ...opts, meshMode: 'permissive' })
  t.same(s.snapshot.eligible.map((e) => e.port), [1, 2], 'permissive after a reload')
})

t.test('IdentityRefusals: out of picking for a bounded time, longer for a repeat offender, back after; counted per service', async (t) => {
  const clock = new ManualClock()
  const s = new ServiceEndpoints({ name: 'users', panicThreshold: 0, slowStartMs: 0, latencyDecayMs: 10_000, preferLocalZone: false, localZone: undefined, now: () => clock.now(), meshMode: 'strict' })
  s.apply('gossip', [info(1, { mtls: true }), info(2, { mtls: true })])
  const refused: number[] = []
  const r = new IdentityRefusals({ clock, changed: () => s.refresh(), refused: (x) => refused.push(x.durationMs), baseMs: 1000, maxMs: 2500 })
  const bad = s.get('10.0.0.1:1')!
  r.refuse(bad, 'spiffe://commy/service/web', 'spiffe://commy/service/users')
  r.refuse(bad, 'spiffe://commy/service/web', 'spiffe://commy/service/users') // a second connection of the same episode
  t.same(s.snapshot.eligible.map((e) => e.port), [2])
  t.equal(bad.eligibility(clock.now()).reason, 'identity mismatch: presented spiffe://commy/service/web, expected spiffe://commy/service/users')
  clock.advance(1000)
  t.same(s.snapshot.eligible.map((e) => e.port), [1, 2], 'back (re-checked in its next handshake)')
  r.refuse(bad, undefined, 'spiffe://commy/service/users')
  t.equal(bad.eligibility(clock.now()).reason, 'identity mismatch: presented no mesh identity, expected spiffe://commy/service/users')
  r.refuse(s.get('10.0.0.1:2')!, undefined, 'x')
  t.same(s.snapshot.eligible, [], 'every endpoint refused: none picked (no panic routing to impostors)')
  clock.advance(2000)
  r.refuse(bad, undefined, 'x')
  t.same(refused, [1000, 2000, 1000, 2500], 'episodes reported once each; repeat offender: base × n, capped')
  r.verified(bad)
  clock.advance(3000)
  r.refuse(bad, undefined, 'x')
  t.equal(refused.at(-1), 1000, 'a verified handshake resets the streak')
  t.equal(r.counts().get('users'), 6, 'every refused handshake counted')
  r.stop()
  t.equal(clock.pending(), 0, 'stop cancels the timers')
})
