import t from 'tap'
import { builtinStrategies, createBalancer, StrategyRegistry } from '../../src/balancer/registry.js'
import type { Balancer, BalancerOptions } from '../../src/balancer/balancer.js'
import { CommyError } from '../../src/errors.js'
import { seededRandom } from '../../src/clock.js'
import { ctx, endpoints, runCompliance } from './compliance.js'

/** The README's example strategy: always the candidate with the lowest port (weight 0 skipped). */
function createLowestPort(_options: BalancerOptions): Balancer {
  return {
    name: 'lowest-port',
    pick(candidates) {
      let best
      for (const ep of candidates) if (ep.weight > 0 && (!best || ep.port < best.port)) best = ep
      return best
    },
  }
}

t.test('createBalancer builds the strategy with its keyless fallback', async (t) => {
  const registry = builtinStrategies()
  const eps = endpoints(3)
  const b = createBalancer(registry, { service: 'svc', strategy: 'consistent-hash', hashFallback: 'weighted', hashBalanceFactor: 1.25 }, seededRandom(1))
  t.equal(b.name, 'consistent-hash')
  t.match(b.explain!(eps, ctx()).note, /fallback weighted/)
  t.ok(eps.includes(b.pick(eps, ctx(0, 'k'))!))
  for (const name of registry.names()) t.equal(createBalancer(registry, { service: 's', strategy: name }, seededRandom(1)).name, name)
})

t.test('an unknown strategy is a typed config error', async (t) => {
  let err: unknown
  try {
    createBalancer(new StrategyRegistry(), { service: 'svc', strategy: 'nope' }, seededRandom(1))
  } catch (e) {
    err = e
  }
  t.ok(err instanceof CommyError)
  t.equal((err as CommyError).code, 'COMMY_ERR_CONFIG')
  t.match((err as CommyError).message, /unknown strategy "nope"/)
})

t.test('a custom strategy registers, builds and passes the compliance suite', async (t) => {
  const registry = builtinStrategies().register('lowest-port', createLowestPort)
  t.ok(registry.names().includes('lowest-port'))
  const b = createBalancer(registry, { service: 'svc', strategy: 'lowest-port' }, seededRandom(1))
  t.equal(b.pick(endpoints(3).reverse(), ctx())!.port, 8000)
  // it pins everything on one endpoint by design, so it does not have to reach every candidate
  t.test('compliance', async (t) => runCompliance(t, 'lowest-port', createLowestPort, { reachesEveryCandidate: false }))
})
