import t from 'tap'
import { ManualClock } from '../../src/clock.js'
import { RetryBudget } from '../../src/resilience/retry-budget.js'

t.test('full outage: 10,000 requests each wanting 2 retries, retries/requests stays near the ratio', async (t) => {
  const clock = new ManualClock()
  const ratio = 0.2
  const minPerSecond = 10
  const budget = new RetryBudget({ ratio, minPerSecond }, clock)
  let retries = 0
  const requests = 10_000
  for (let i = 0; i < requests; i++) {
    budget.recordRequest()
    for (let r = 0; r < 2; r++) if (budget.tryAcquireRetry()) retries++
    clock.advance(2) // 500 req/s for 20 s: the window slides twice
  }
  const amplification = retries / requests
  // steady state: ratio + minPerSecond / rps = 0.2 + 10/500 = 0.22
  t.ok(amplification <= ratio + minPerSecond / 500 + 0.01, `retries/requests = ${amplification.toFixed(3)}`)
  t.ok(amplification >= ratio - 0.01, 'the budget is actually used')
  const s = budget.stats()
  t.equal(s.totalRequests, requests)
  t.equal(s.totalRetries, retries)
  t.equal(s.exhausted, 2 * requests - retries, 'every refused retry counted')
})

t.test('the floor allows minPerSecond × window retries with no traffic', async (t) => {
  const clock = new ManualClock()
  const budget = new RetryBudget({ ratio: 0.2, minPerSecond: 2, windowMs: 10_000 }, clock)
  let granted = 0
  for (let i = 0; i < 100; i++) if (budget.tryAcquireRetry()) granted++
  t.equal(granted, 20)
  t.equal(budget.stats().available, 0)
  clock.advance(10_000)
  t.equal(budget.stats().available, 20, 'the window slid: retries expired')
})

t.test('ratio without a floor; window slides bucket by bucket', async (t) => {
  const clock = new ManualClock()
  const budget = new RetryBudget({ ratio: 0.5, minPerSecond: 0, windowMs: 1_000, buckets: 10 }, clock)
  for (let i = 0; i < 10; i++) budget.recordRequest()
  t.equal(budget.stats().available, 5)
  for (let i = 0; i < 5; i++) t.ok(budget.tryAcquireRetry())
  t.notOk(budget.tryAcquireRetry())
  clock.advance(500)
  for (let i = 0; i < 4; i++) budget.recordRequest()
  t.equal(budget.stats().available, 2, '14 requests × 0.5 − 5 retries')
  clock.advance(500)
  t.match(budget.stats(), { requests: 4, retries: 0, available: 2 }, 'the first 10 requests and their retries left the window')
  clock.advance(60_000)
  t.match(budget.stats(), { requests: 0, retries: 0, available: 0 })
})
