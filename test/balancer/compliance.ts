/**
 * The compliance suite every Balancer passes (built-ins and user strategies alike), and the small
 * endpoint helpers the balancer tests share. Not a test file itself: compliance.test.ts runs it
 * for every registered strategy.
 */
import type { Test } from 'tap'
import { Endpoint, type EndpointInfo } from '../../src/endpoint/endpoint.js'
import type { Balancer, BalancerFactory, PickContext } from '../../src/balancer/balancer.js'
import { seededRandom } from '../../src/clock.js'

export function endpoint(port: number, extra: Partial<EndpointInfo> = {}, decayMs = 10_000): Endpoint {
  return new Endpoint('svc', { host: '10.0.0.1', port, weight: 1, zone: undefined, tags: [], ...extra }, 'static', decayMs)
}

export function endpoints(count: number, extra: Partial<EndpointInfo> = {}, firstPort = 8000): Endpoint[] {
  return Array.from({ length: count }, (_, i) => endpoint(firstPort + i, extra))
}

export const ctx = (now = 0, hashKey?: string): PickContext => ({ now, hashKey })

/** Counts picks per address. */
export function tally(balancer: Balancer, candidates: readonly Endpoint[], picks: number, context: (i: number) => PickContext = () => ctx()): Map<string, number> {
  const counts = new Map<string, number>()
  for (const ep of candidates) counts.set(ep.address, 0)
  for (let i = 0; i < picks; i++) {
    const ep = balancer.pick(candidates, context(i))
    if (ep) counts.set(ep.address, (counts.get(ep.address) ?? 0) + 1)
  }
  return counts
}

export interface ComplianceOptions {
  /** False for strategies that by design never spread load (a pinning strategy). */
  readonly reachesEveryCandidate?: boolean
}

export function runCompliance(t: Test, name: string, factory: BalancerFactory, options: ComplianceOptions = {}): void {
  const make = (seed = 1): Balancer => factory({ service: 'svc', random: seededRandom(seed), hashBalanceFactor: 0 })
  // half the picks carry a hash key so that consistent-hash exercises its ring, half its fallback
  const context = (i: number): PickContext => ctx(i, i % 2 === 0 ? `key-${i}` : undefined)

  t.test(`${name}: returns undefined for no candidates`, async (t) => {
    const b = make()
    t.equal(b.pick([], ctx()), undefined)
    t.equal(b.pick([], ctx(0, 'k')), undefined)
  })

  t.test(`${name}: one candidate is always picked`, async (t) => {
    const b = make()
    const [a] = endpoints(1)
    for (let i = 0; i < 50; i++) t.equal(b.pick([a!], context(i)), a, `pick ${i}`)
  })

  t.test(`${name}: never returns a non-candidate${options.reachesEveryCandidate === false ? '' : ', reaches every candidate'}`, async (t) => {
    const b = make()
    const eps = endpoints(5)
    const seen = new Set<Endpoint>()
    for (let i = 0; i < 2000; i++) {
      const ep = b.pick(eps, context(i))
      if (!ep || !eps.includes(ep)) return t.fail(`pick ${i} returned ${ep?.address}`)
      seen.add(ep)
    }
    if (options.reachesEveryCandidate !== false) t.equal(seen.size, 5, 'every candidate picked at least once')
  })

  t.test(`${name}: follows candidate list changes`, async (t) => {
    const b = make()
    const eps = endpoints(6)
    const lists = [eps.slice(0, 3), eps.slice(1, 5), eps.slice(4), [eps[0]!, eps[5]!], eps.slice().reverse(), eps.slice(2, 3), eps]
    let i = 0
    for (const list of lists) {
      for (let k = 0; k < 200; k++, i++) {
        const ep = b.pick(list, context(i))
        if (!ep || !list.includes(ep)) return t.fail(`list ${lists.indexOf(list)} pick ${k} returned ${ep?.address}`)
      }
    }
    t.pass('only members of the current list')
  })

  t.test(`${name}: weight-0 (draining) endpoints are never picked and cause no exception`, async (t) => {
    const b = make()
    const eps = [endpoint(1, { weight: 0 }), endpoint(2), endpoint(3, { weight: 0 }), endpoint(4)]
    for (let i = 0; i < 500; i++) {
      const ep = b.pick(eps, context(i))
      if (!ep || ep.weight === 0) return t.fail(`pick ${i} returned ${ep?.address}`)
    }
    const drained = [endpoint(5, { weight: 0 }), endpoint(6, { weight: 0 })]
    for (let i = 0; i < 20; i++) t.doesNotThrow(() => b.pick(drained, context(i)))
    t.pass()
  })

  t.test(`${name}: tolerates busy, slow and warming endpoints`, async (t) => {
    const b = make()
    const eps = endpoints(12)
    eps.forEach((ep, i) => {
      ep.inFlight = i * 3
      if (i % 2) ep.latency.observe(5 + i * 10, 0)
      if (i % 3 === 0) {
        ep.slowStartMs = 10_000
        ep.warmingSince = 0
      }
    })
    for (let i = 0; i < 1000; i++) {
      const ep = b.pick(eps, context(i * 10))
      if (!ep || !eps.includes(ep)) return t.fail(`pick ${i} returned ${ep?.address}`)
    }
    t.pass()
  })

  t.test(`${name}: explain (when present) scores exactly the candidates and has no side effect on validity`, async (t) => {
    const b = make()
    if (!b.explain) return t.pass('no explain')
    const eps = endpoints(4)
    for (const c of [ctx(0), ctx(0, 'user-7')]) {
      const e = b.explain(eps, c)
      t.equal(e.strategy, b.name)
      t.same(e.scores.map((s) => s.address), eps.map((ep) => ep.address))
      for (const s of e.scores) t.ok(Number.isFinite(s.score), `finite score for ${s.address}`)
      t.ok(eps.includes(b.pick(eps, c)!))
    }
    t.same(b.explain([], ctx()).scores, [])
  })

  t.test(`${name}: the same seed gives the same sequence`, async (t) => {
    const run = () => {
      const b = make(42)
      const eps = endpoints(10)
      const out: string[] = []
      for (let i = 0; i < 300; i++) out.push(b.pick(eps, context(i))!.address)
      return out
    }
    t.same(run(), run())
  })
}
