import t from 'tap'
import { WeightedBalancer } from '../../src/balancer/weighted.js'
import { ctx, endpoint, tally } from './compliance.js'

const names = (eps: { port: number }[]) => eps.map((e) => String.fromCharCode(96 + e.port)).join(' ')

t.test("nginx's smooth sequence for 5,1,1: a a b a c a a", async (t) => {
  const b = new WeightedBalancer()
  const eps = [endpoint(1, { weight: 5 }), endpoint(2, { weight: 1 }), endpoint(3, { weight: 1 })]
  const seq = Array.from({ length: 14 }, () => b.pick(eps, ctx())!)
  t.equal(names(seq), 'a a b a c a a a a b a c a a')
})

t.test('every window of sum(weights) consecutive picks has the exact ratios', async (t) => {
  for (const weights of [[5, 1, 1], [3, 2, 1], [1, 1, 1, 1], [7, 3], [4, 0, 2, 9]]) {
    const b = new WeightedBalancer()
    const eps = weights.map((w, i) => endpoint(i + 1, { weight: w }))
    const total = weights.reduce((a, c) => a + c, 0)
    const seq = Array.from({ length: total * 20 }, () => b.pick(eps, ctx())!.port)
    let bad = 0
    for (let start = 0; start + total <= seq.length; start++) {
      const counts = weights.map(() => 0)
      for (let k = start; k < start + total; k++) counts[seq[k]! - 1]!++
      if (counts.some((c, i) => c !== weights[i])) bad++
    }
    t.equal(bad, 0, `weights ${weights.join(',')}: all ${seq.length - total + 1} windows exact`)
  }
})

t.test('no bursts: with 2,1 the heavy endpoint never gets three in a row', async (t) => {
  const b = new WeightedBalancer()
  const eps = [endpoint(1, { weight: 2 }), endpoint(2, { weight: 1 })]
  const seq = names(Array.from({ length: 30 }, () => b.pick(eps, ctx())!))
  t.notMatch(seq, /a a a/)
})

t.test('a new snapshot with the same endpoints continues the sequence', async (t) => {
  const b = new WeightedBalancer()
  const eps = [endpoint(1, { weight: 5 }), endpoint(2, { weight: 1 }), endpoint(3, { weight: 1 })]
  const seq = [b.pick(eps, ctx())!, b.pick(eps, ctx())!, b.pick(eps, ctx())!]
  const again = [...eps]
  for (let i = 0; i < 4; i++) seq.push(b.pick(again, ctx())!)
  t.equal(names(seq), 'a a b a c a a')
})

t.test('fractional (slow-start) weights are honoured proportionally', async (t) => {
  const b = new WeightedBalancer()
  const warm = endpoint(2, { weight: 4 })
  warm.slowStartMs = 10_000
  warm.warmingSince = 0
  const eps = [endpoint(1, { weight: 4 }), warm]
  // at t = 2.5 s the warming endpoint has 25% of its weight: 1 against 4
  const counts = tally(b, eps, 5000, () => ctx(2500))
  t.equal(counts.get(warm.address), 1000)
  t.equal(counts.get(eps[0]!.address), 4000)
})

t.test('explain: current weight plus effective weight, the largest is next', async (t) => {
  const b = new WeightedBalancer()
  const eps = [endpoint(1, { weight: 5 }), endpoint(2, { weight: 1 }), endpoint(3, { weight: 1 })]
  b.pick(eps, ctx())
  b.pick(eps, ctx())
  const e = b.explain(eps, ctx())
  t.same(e.scores.map((s) => s.score), [1, 3, 3])
  t.equal(b.pick(eps, ctx())!.port, 2)
})
