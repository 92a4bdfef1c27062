import t from 'tap'
import { RoundRobinBalancer } from '../../src/balancer/round-robin.js'
import { ctx, endpoint, endpoints } from './compliance.js'

t.test('exact cycle in candidate order', async (t) => {
  const b = new RoundRobinBalancer()
  const eps = endpoints(4)
  const seq = Array.from({ length: 12 }, () => b.pick(eps, ctx())!.port)
  t.same(seq, [8000, 8001, 8002, 8003, 8000, 8001, 8002, 8003, 8000, 8001, 8002, 8003])
})

t.test('draining endpoints are skipped without breaking the cycle', async (t) => {
  const b = new RoundRobinBalancer()
  const eps = [endpoint(1), endpoint(2, { weight: 0 }), endpoint(3)]
  t.same(Array.from({ length: 6 }, () => b.pick(eps, ctx())!.port), [1, 3, 1, 3, 1, 3])
  t.equal(b.pick([endpoint(4, { weight: 0 })], ctx()), undefined, 'only draining: nothing')
})

t.test('the position survives a shrinking candidate list', async (t) => {
  const b = new RoundRobinBalancer()
  const eps = endpoints(5)
  for (let i = 0; i < 4; i++) b.pick(eps, ctx())
  const short = eps.slice(0, 2)
  t.same(Array.from({ length: 4 }, () => b.pick(short, ctx())!.port), [8000, 8001, 8000, 8001])
})

t.test('explain: turns until each candidate is picked', async (t) => {
  const b = new RoundRobinBalancer()
  const eps = [endpoint(1), endpoint(2, { weight: 0 }), endpoint(3)]
  b.pick(eps, ctx())
  const e = b.explain(eps)
  t.same(e.scores.map((s) => s.score), [1, -1, 0])
  t.equal(b.pick(eps, ctx())!.port, 3, 'score 0 is picked next')
})
