import t from 'tap'
import CircuitBreaker from 'opossum'
import { ManualClock } from '../../src/clock.js'
import { Endpoint } from '../../src/endpoint/endpoint.js'
import type { BreakerConfig } from '../../src/config/types.js'
import { BreakerOpenError } from '../../src/errors.js'
import { ADMITTED, createBreaker, EndpointBreaker, fromOpossumError, NoBreaker, REJECTED } from '../../src/resilience/breaker.js'

const config = (over: Partial<BreakerConfig> = {}): BreakerConfig => ({
  enabled: true,
  errorThresholdPercentage: 50,
  volumeThreshold: 20,
  resetTimeoutMs: 10_000,
  rollingCountTimeoutMs: 10_000,
  rollingCountBuckets: 10,
  ...over,
})

function setup(over: Partial<BreakerConfig> = {}, trialTimeoutMs?: number) {
  const clock = new ManualClock(1_000)
  const ep = new Endpoint('svc', { host: '127.0.0.1', port: 8080, weight: 1, zone: undefined, tags: [] }, 'static', 10_000)
  let changed = 0
  const events: [string, string, string][] = []
  const br = createBreaker(ep, config(over), { clock, changed: () => changed++, ...(trialTimeoutMs ? { trialTimeoutMs } : {}) })
  br.on('stateChange', (from, to, reason) => events.push([from.kind, to.kind, reason]))
  return { clock, ep, br, events, changes: () => changed }
}

function fail(br: ReturnType<typeof setup>['br'], n: number) {
  for (let i = 0; i < n; i++) br.record('failure', br.admit())
}

function tripOpen(s: ReturnType<typeof setup>) {
  fail(s.br, 20)
  if (s.br.state.kind !== 'open') throw new Error('did not open')
}

t.test('opens within the volume threshold at 100% errors, synchronously', async (t) => {
  const s = setup()
  fail(s.br, 19)
  t.equal(s.br.state.kind, 'closed', 'below the volume threshold it stays closed')
  t.equal(s.ep.breaker.kind, 'closed')
  t.equal(s.changes(), 0)
  fail(s.br, 1)
  t.equal(s.br.state.kind, 'open', 'the 20th failure opens it')
  t.equal(s.ep.breaker.kind, 'open')
  t.equal(s.changes(), 1, 'changed() called once')
  t.equal(s.events.length, 1)
  t.match(s.events[0], ['closed', 'open', /20 of 20 requests failed \(100%\)/])
  t.equal(s.ep.eligibility(s.clock.now()).eligible, false, 'the endpoint leaves picking')
  t.equal(s.br.admit(), REJECTED)
  t.throws(() => s.br.admitOrThrow(), BreakerOpenError)
  t.equal(s.br.stats().rejected, 2)
})

t.test('error percentage must exceed the threshold; successes keep it closed', async (t) => {
  const s = setup()
  for (let i = 0; i < 40; i++) s.br.record(i % 2 === 1 ? 'failure' : 'success', s.br.admit())
  t.equal(s.br.state.kind, 'closed', 'exactly 50% is not above 50%')
  t.match(s.br.stats(), { fires: 40, failures: 20, successes: 20, errorPercentage: 50 })
  fail(s.br, 2)
  t.equal(s.br.state.kind, 'open', 'above 50% opens')
})

t.test('neutral outcomes are not counted', async (t) => {
  const s = setup()
  for (let i = 0; i < 100; i++) s.br.record('neutral', s.br.admit())
  t.equal(s.br.stats().fires, 0)
  t.equal(s.br.state.kind, 'closed')
})

t.test('the rolling window forgets old failures (buckets rotated by the injected clock)', async (t) => {
  const s = setup()
  fail(s.br, 15)
  s.clock.advance(5_000)
  t.equal(s.br.stats().failures, 15, 'still in the window after 5 s')
  s.clock.advance(5_500)
  t.equal(s.br.stats().failures, 0, 'gone after the 10 s window')
  fail(s.br, 15)
  t.equal(s.br.state.kind, 'closed', '15 + 15 failures far apart never reach the volume threshold together')
})

t.test('open -> half-open after resetTimeout -> exactly one trial of 50 -> success closes', async (t) => {
  const s = setup()
  tripOpen(s)
  s.clock.advance(9_999)
  t.equal(s.br.state.kind, 'open')
  s.clock.advance(1)
  t.equal(s.br.state.kind, 'half-open')
  t.equal(s.ep.breaker.kind, 'half-open')
  t.equal(s.changes(), 2)
  t.equal(s.ep.eligibility(s.clock.now()).eligible, true, 'half-open endpoint is pickable for the trial')
  const admissions = Array.from({ length: 50 }, () => s.br.admit())
  const admitted = admissions.filter(Boolean)
  t.equal(admitted.length, 1, 'exactly one trial admitted under 50 concurrent admits')
  t.ok(admitted[0]! > ADMITTED, 'the trial carries its own id')
  t.equal(s.br.stats().trialInFlight, true)
  s.br.record('success', admitted[0]!)
  t.equal(s.br.state.kind, 'closed')
  t.equal(s.ep.breaker.kind, 'closed')
  t.same(s.events.map(([f, to]) => `${f}>${to}`), ['closed>open', 'open>half-open', 'half-open>closed'])
  t.match(s.events[2]![2], /trial request succeeded/)
  t.equal(s.br.stats().fires, 0, 'closing starts a fresh window')
  fail(s.br, 1)
  t.equal(s.br.state.kind, 'closed', 'one failure after recovery does not re-open it')
})

t.test('a failed trial re-opens for another resetTimeout', async (t) => {
  const s = setup()
  tripOpen(s)
  s.clock.advance(10_000)
  const trial = s.br.admit()
  s.br.record('failure', trial)
  t.equal(s.br.state.kind, 'open')
  t.equal(s.ep.breaker.kind, 'open')
  t.match(s.events.at(-1), ['half-open', 'open', 'trial request failed'])
  t.equal(s.br.admit(), REJECTED)
  s.clock.advance(10_000)
  t.equal(s.br.state.kind, 'half-open')
  s.br.record('success', s.br.admit())
  t.equal(s.br.state.kind, 'closed')
})

t.test('stragglers admitted before opening do not decide the trial; neutral trial gives the slot back', async (t) => {
  const s = setup()
  const straggler = s.br.admit()
  tripOpen(s)
  s.clock.advance(10_000)
  const trial = s.br.admit()
  t.ok(trial)
  s.br.record('success', straggler)
  t.equal(s.br.state.kind, 'half-open', 'a straggler success does not close')
  s.br.record('failure', straggler)
  t.equal(s.br.state.kind, 'half-open', 'a straggler failure does not re-open')
  t.equal(s.br.admit(), REJECTED, 'trial still taken')
  s.br.record('neutral', trial)
  t.equal(s.br.state.kind, 'half-open')
  const second = s.br.admit()
  t.ok(second, 'a neutral trial (client went away) frees the slot')
  t.not(second, trial)
  s.br.record('success', trial)
  t.equal(s.br.state.kind, 'half-open', 'the old trial id no longer counts')
  s.br.record('success', second)
  t.equal(s.br.state.kind, 'closed')
})

t.test('a trial that never reports counts as failed after trialTimeoutMs', async (t) => {
  const s = setup({}, 2_000)
  tripOpen(s)
  s.clock.advance(10_000)
  const trial = s.br.admit()
  s.clock.advance(2_000)
  t.equal(s.br.state.kind, 'open')
  t.match(s.events.at(-1)![2], /did not report within 2000ms/)
  s.br.record('success', trial)
  t.equal(s.br.state.kind, 'open', 'its late report is ignored')
})

t.test('stop is idempotent, cancels timers and ignores later records', async (t) => {
  const s = setup()
  tripOpen(s)
  t.equal(s.clock.pending(), 1, 'reset timer pending')
  s.br.stop()
  s.br.stop()
  t.equal(s.clock.pending(), 0)
  s.clock.advance(20_000)
  t.equal(s.br.state.kind, 'open', 'no transition after stop')
  s.br.record('success', 2)
})

t.test('disabled breaker is the null object', async (t) => {
  const ep = new Endpoint('svc', { host: '127.0.0.1', port: 1, weight: 1, zone: undefined, tags: [] }, 'static', 10_000)
  const br = createBreaker(ep, config({ enabled: false }), { clock: new ManualClock(), changed: () => t.fail('no change') })
  t.type(br, NoBreaker)
  for (let i = 0; i < 100; i++) br.record('failure', br.admit())
  t.equal(br.admit(), ADMITTED)
  t.equal(br.admitOrThrow(), ADMITTED)
  t.equal(br.state.kind, 'closed')
  br.on('stateChange', () => t.fail('never'))()
  t.match(br.stats(), { state: 'closed', fires: 0 })
  br.stop()
  t.type(createBreaker(ep, config(), { clock: new ManualClock(), changed: () => {} }), EndpointBreaker)
})

t.test("opossum's EOPENBREAKER becomes BreakerOpenError with cause; other errors pass through", async (t) => {
  const cb = new CircuitBreaker(async () => 1, { enableSnapshots: false, resetTimeout: 60_000 })
  cb.open()
  const err = await cb.fire().catch((e: unknown) => e)
  const converted = fromOpossumError(err, '127.0.0.1:9')
  t.type(converted, BreakerOpenError)
  t.equal((converted as BreakerOpenError).code, 'COMMY_ERR_BREAKER_OPEN')
  t.equal((converted as BreakerOpenError).cause, err)
  const other = new Error('x')
  t.equal(fromOpossumError(other, 'a'), other)
  cb.shutdown()
})
