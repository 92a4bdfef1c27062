/**
 * The sliding last-minute window of the golden signals (admin/golden-window.ts) on a manual
 * clock: fresh (the slot still filling counts), sliding (old slots fall out one by one), rates
 * divided by the time actually covered, percentiles from the merged histograms, and the
 * verdict rule for client requests.
 */
import t from 'tap'
import { ManualClock } from '../../src/clock.js'
import { FAILURE, NEUTRAL, NO_SIGNALS, RequestWindow, SUCCESS, WindowSum, requestVerdict, signalsOf } from '../../src/admin/golden-window.js'

const read = (...ws: RequestWindow[]) => (now: number) => {
  const sum = new WindowSum()
  for (const w of ws) w.addTo(sum, now)
  return sum.signals()
}

t.test('an empty window has no success rate and no percentiles', async (t) => {
  const w = new RequestWindow(0)
  t.same(read(w)(30_000), NO_SIGNALS)
  t.same(NO_SIGNALS, { successRate: null, rps: 0, p50Ms: null, p99Ms: null })
})

t.test('fresh: requests in the slot still filling count at once', async (t) => {
  const clock = new ManualClock(1_000_000)
  const w = new RequestWindow(clock.now() - 120_000)
  clock.advance(1_234)
  for (let i = 0; i < 9; i++) w.record(clock.now(), SUCCESS, 2)
  w.record(clock.now(), FAILURE, 50)
  const s = read(w)(clock.now())
  t.equal(s.successRate, 0.9, '9 of 10')
  t.ok(s.rps > 0, 'counted before the slot completes')
  t.equal(s.p50Ms !== null && Math.abs(s.p50Ms - 2) / 2 < 0.07, true, `p50 ~ 2 ms (${s.p50Ms})`)
  t.equal(s.p99Ms !== null && Math.abs(s.p99Ms - 50) / 50 < 0.07, true, `p99 ~ 50 ms (${s.p99Ms})`)
})

t.test('sliding: a steady rate reads the same at any time, old slots fall out', async (t) => {
  const clock = new ManualClock(0)
  const w = new RequestWindow(clock.now())
  // 10 requests per second for 3 minutes, one every 100 ms; failures only in the first minute
  for (let i = 0; i < 1_800; i++) {
    clock.advance(100)
    w.record(clock.now(), clock.now() <= 60_000 ? FAILURE : SUCCESS, 1)
  }
  const s = read(w)(clock.now())
  t.ok(Math.abs(s.rps - 10) < 0.5, `rps ~ 10 over the window (${s.rps})`)
  t.equal(s.successRate, 1, 'the failures of the first minute are out of the window')
  // between slot boundaries the rate stays the same (no whole-slot jumps)
  for (const dt of [1_000, 2_500, 4_900]) {
    const c = new ManualClock(0)
    const v = new RequestWindow(0)
    for (let i = 0; i < 1_200; i++) {
      c.advance(100)
      v.record(c.now(), SUCCESS, 1)
    }
    c.advance(dt)
    const r = read(v)(c.now())
    // nothing arrived for dt ms: the rate drops by at most dt/window, never by a whole window
    t.ok(r.rps > 10 * (1 - (dt + 5_000) / 60_000) && r.rps <= 10.01, `after ${dt} ms idle: ${r.rps}`)
  }
})

t.test('failures leave the window a slot at a time', async (t) => {
  const w = new RequestWindow(0)
  w.record(10_000, FAILURE, 1)
  w.record(40_000, SUCCESS, 1)
  t.equal(read(w)(40_000).successRate, 0.5)
  t.equal(read(w)(69_999).successRate, 0.5, 'the failure is under a minute old (its slot ends at 15 s)')
  t.equal(read(w)(75_001).successRate, 1, 'its slot ended more than a minute ago')
  t.same(read(w)(105_001), NO_SIGNALS, 'everything out')
})

t.test('a young window divides by its age (at least 1 s), not by a minute', async (t) => {
  const w = new RequestWindow(100_000)
  for (let i = 0; i < 20; i++) w.record(102_000, SUCCESS, 1)
  t.equal(read(w)(102_000).rps, 10, '20 requests in its first 2 s')
  const v = new RequestWindow(100_000)
  v.record(100_100, SUCCESS, 1)
  t.equal(read(v)(100_100).rps, 1, 'never over less than 1 s')
})

t.test('a ring slot reused after a long idle time starts from zero; a late sample for a reused slot is dropped', async (t) => {
  const w = new RequestWindow(0, { windowMs: 10_000, slotMs: 5_000 })
  w.record(1_000, FAILURE, 1)
  // 3 slots in the ring: slot 0 comes back as slot 3 (15 s) and 6 (30 s)
  w.record(31_000, SUCCESS, 1)
  t.equal(read(w)(31_000).successRate, 1, 'the old failure was cleared')
  w.record(1_500, FAILURE, 1)
  t.equal(read(w)(31_000).successRate, 1, 'a sample older than the slot now held is not counted')
})

t.test('merging windows (a service: its routes) sums counts and histograms', async (t) => {
  const a = new RequestWindow(0)
  const b = new RequestWindow(0)
  for (let i = 0; i < 90; i++) a.record(30_000, SUCCESS, 1)
  for (let i = 0; i < 10; i++) b.record(30_000, FAILURE, 100)
  const s = read(a, b)(30_000)
  t.equal(s.successRate, 0.9)
  t.equal(s.rps, 3.333, '100 requests over the 30 s the windows cover')
  t.ok(s.p50Ms! < 1.1, `p50 from a (${s.p50Ms})`)
  t.ok(s.p99Ms! > 90, `p99 from b (${s.p99Ms})`)
})

t.test('neutral requests count in rps and latency, not in the success rate', async (t) => {
  const w = new RequestWindow(0)
  w.record(1_000, NEUTRAL, 1)
  t.equal(read(w)(1_000).successRate, null, 'only neutral: no success rate')
  w.record(1_000, SUCCESS, 1)
  w.record(1_000, FAILURE, 1)
  const s = read(w)(1_000)
  t.equal(s.successRate, 0.5)
  t.equal(s.rps, 3)
})

t.test('the verdict on a client request', async (t) => {
  t.equal(requestVerdict(200, undefined), SUCCESS)
  t.equal(requestVerdict(404, undefined), SUCCESS, 'a 4xx is the caller\'s problem')
  t.equal(requestVerdict(429, undefined), SUCCESS)
  t.equal(requestVerdict(503, 'COMMY_ERR_NO_HEALTHY_ENDPOINT'), FAILURE)
  t.equal(requestVerdict(500, undefined), FAILURE)
  t.equal(requestVerdict(0, undefined), FAILURE, 'no valid status')
  t.equal(requestVerdict(200, 'COMMY_ERR_UPSTREAM_RESET'), FAILURE, 'a response cut after it started')
  t.equal(requestVerdict(499, 'COMMY_ERR_CLIENT_ABORTED'), NEUTRAL, 'the client left')
  t.equal(requestVerdict(200, 'COMMY_ERR_CLIENT_ABORTED'), NEUTRAL)
  t.equal(requestVerdict(101, undefined), SUCCESS, 'an upgrade')
})

t.test('signals from the health history window (tries of an endpoint)', async (t) => {
  t.same(signalsOf({ requests: 0, errors: 0, rps: 0, p50: null, p99: null }), NO_SIGNALS)
  t.same(signalsOf({ requests: 10, errors: 9, rps: 0.16666, p50: 1.23456, p99: 7 }), { successRate: 0.1, rps: 0.167, p50Ms: 1.235, p99Ms: 7 })
})

t.test('bad options are refused', async (t) => {
  t.throws(() => new RequestWindow(0, { slotMs: 0 }), RangeError)
  t.throws(() => new RequestWindow(0, { windowMs: 1_000, slotMs: 5_000 }), RangeError)
})
