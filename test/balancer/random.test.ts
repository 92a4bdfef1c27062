import t from 'tap'
import { RandomBalancer } from '../../src/balancer/random.js'
import { seededRandom } from '../../src/clock.js'
import { ctx, endpoint, tally } from './compliance.js'

/** Pearson's chi-square of observed counts against expected shares. */
function chiSquare(observed: number[], shares: number[], n: number): number {
  return observed.reduce((sum, o, i) => sum + (o - n * shares[i]!) ** 2 / (n * shares[i]!), 0)
}

t.test('weighted random is within a chi-square bound over 20k picks', async (t) => {
  // critical values at p = 0.001: 3 degrees of freedom 16.27, 4: 18.47
  for (const [seed, weights, critical] of [
    [1, [1, 2, 3, 4], 16.27],
    [7, [1, 1, 1, 1, 1], 18.47],
    [99, [10, 1, 5, 3], 16.27],
  ] as const) {
    const b = new RandomBalancer(seededRandom(seed))
    const eps = weights.map((w, i) => endpoint(i + 1, { weight: w }))
    const total = weights.reduce((a: number, c) => a + c, 0)
    const counts = tally(b, eps, 20_000)
    const x2 = chiSquare([...counts.values()], weights.map((w) => w / total), 20_000)
    t.ok(x2 < critical, `weights ${weights.join(',')}: chi-square ${x2.toFixed(2)} < ${critical}`)
  }
})

t.test('weight 0 is never drawn; all weight 0 draws nothing', async (t) => {
  const b = new RandomBalancer(seededRandom(3))
  const eps = [endpoint(1, { weight: 0 }), endpoint(2), endpoint(3, { weight: 0 })]
  const counts = tally(b, eps, 2000)
  t.equal(counts.get(eps[1]!.address), 2000)
  t.equal(b.pick([endpoint(4, { weight: 0 })], ctx()), undefined)
})

t.test('uses effective weight: a warming endpoint gets its ramped share', async (t) => {
  const b = new RandomBalancer(seededRandom(5))
  const warm = endpoint(2)
  warm.slowStartMs = 10_000
  warm.warmingSince = 0
  const eps = [endpoint(1), warm]
  const early = tally(b, eps, 20_000, () => ctx(1000)).get(warm.address)! / 20_000 // weight 0.1 vs 1
  const mid = tally(b, eps, 20_000, () => ctx(5000)).get(warm.address)! / 20_000 // 0.5 vs 1
  const done = tally(b, eps, 20_000, () => ctx(20_000)).get(warm.address)! / 20_000 // 1 vs 1
  t.ok(Math.abs(early - 0.1 / 1.1) < 0.01, `early share ${early.toFixed(3)}`)
  t.ok(Math.abs(mid - 0.5 / 1.5) < 0.015, `mid share ${mid.toFixed(3)}`)
  t.ok(Math.abs(done - 0.5) < 0.015, `full share ${done.toFixed(3)}`)
})

t.test('explain: probabilities', async (t) => {
  const b = new RandomBalancer(seededRandom(1))
  const e = b.explain([endpoint(1, { weight: 3 }), endpoint(2, { weight: 1 }), endpoint(3, { weight: 0 })], ctx())
  t.same(e.scores.map((s) => s.score), [0.75, 0.25, 0])
})
