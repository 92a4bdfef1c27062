import t from 'tap'
import { ManualClock, seededRandom } from '../../src/clock.js'
import { backoffDelay, pause } from '../../src/resilience/backoff.js'

t.test('full jitter: uniform below min(max, base × 2^(n-1))', async (t) => {
  t.equal(backoffDelay(1, { baseMs: 25, maxMs: 250, random: () => 0.999999 }), 24)
  t.equal(backoffDelay(2, { baseMs: 25, maxMs: 250, random: () => 0.999999 }), 49)
  t.equal(backoffDelay(3, { baseMs: 25, maxMs: 250, random: () => 0.5 }), 50)
  t.equal(backoffDelay(10, { baseMs: 25, maxMs: 250, random: () => 0.999999 }), 249, 'capped')
  t.equal(backoffDelay(2000, { baseMs: 25, maxMs: 250, random: () => 0.999999 }), 249, 'no overflow')
  t.equal(backoffDelay(1, { baseMs: 25, maxMs: 250, random: () => 0 }), 0)
  t.equal(backoffDelay(1, { baseMs: 0, maxMs: 250, random: () => 0.7 }), 0)
  const random = seededRandom(7)
  let sum = 0
  const n = 10_000
  for (let i = 0; i < n; i++) sum += backoffDelay(4, { baseMs: 10, maxMs: 1000, random })
  t.ok(Math.abs(sum / n - 40) < 2, `mean ≈ ceiling/2 (${(sum / n).toFixed(1)})`)
})

t.test('pause follows the injected clock and aborts', async (t) => {
  const clock = new ManualClock()
  let done = false
  const p = pause(clock, 100).then(() => (done = true))
  clock.advance(99)
  await Promise.resolve()
  t.equal(done, false)
  clock.advance(1)
  await p
  t.equal(done, true)
  await pause(clock, 0)
  const ac = new AbortController()
  const q = pause(clock, 100, ac.signal)
  ac.abort(new Error('gone'))
  await t.rejects(q, { message: 'gone' })
  t.equal(clock.pending(), 0, 'timer cancelled')
  await t.rejects(pause(clock, 5, ac.signal), { message: 'gone' }, 'already aborted')
})
