/**
 * The resilience wiring on a manual clock, without sockets: per-service mechanisms, the breaker,
 * outlier, limit and budget layers around a fake send, and the budgeted retry decider.
 */
import t from 'tap'
import { ManualClock } from '../../src/clock.js'
import type { RetryPolicyConfig, ServiceConfig } from '../../src/config/types.js'
import type { Endpoint } from '../../src/endpoint/endpoint.js'
import { ServiceEndpoints } from '../../src/endpoint/service-endpoints.js'
import { BreakerOpenError, OverloadedError, UpstreamConnectError, UpstreamResetError } from '../../src/errors.js'
import { compose, type Attempt, type Send, type UpstreamResponse } from '../../src/pipeline/pipeline.js'
import type { RetryContext } from '../../src/pipeline/retry-rules.js'
import { breakerLayer } from '../../src/resilience/breaker-layer.js'
import { ResilienceEventHub, type BreakerTransition } from '../../src/resilience/events.js'
import { limitLayer } from '../../src/resilience/limit-layer.js'
import { outlierLayer } from '../../src/resilience/outlier-layer.js'
import { budgetedRetryDecider, budgetLayer } from '../../src/resilience/retry-decider.js'
import { ServiceResilience } from '../../src/resilience/service-resilience.js'
import { serviceConfig } from '../helpers/service-config.js'
import { doneResponse } from '../helpers/responses.js'

const service = serviceConfig

function setup(over: Partial<ServiceConfig> = {}, n = 3) {
  const clock = new ManualClock(1_000)
  const cfg = service(over)
  const set = new ServiceEndpoints({ name: 'svc', panicThreshold: cfg.panicThreshold, slowStartMs: 0, latencyDecayMs: 10_000, preferLocalZone: false, localZone: undefined, now: () => clock.now() })
  const events = new ResilienceEventHub()
  let lagging = false
  const s = new ServiceResilience(cfg, { clock, endpoints: () => set, isLagging: () => lagging, events })
  set.on({ added: (ep) => s.addEndpoint(ep), removed: (ep) => s.removeEndpoint(ep) })
  set.apply('static', Array.from({ length: n }, (_, i) => ({ host: '127.0.0.1', port: 9000 + i, weight: 1, zone: undefined, tags: [] })))
  const lookup = (name: string) => (name === 'svc' ? s : undefined)
  return { clock, set, s, events, lookup, eps: set.snapshot.all, setLagging: (v: boolean) => (lagging = v) }
}

const response = doneResponse

const attempt = (ep: Endpoint, tryNumber = 1, signal = new AbortController().signal): Attempt => ({
  endpoint: ep,
  request: { method: 'GET', path: '/', headers: [], body: null, requestId: 'r', service: 'svc' },
  try: tryNumber,
  timeoutMs: 0,
  signal,
  setCanceller() {},
})

const flush = () => new Promise((r) => setImmediate(r))

t.test('breaker layer: failures open the breaker; half-open admits one trial, out of picking until it reports', async (t) => {
  const { set, s, events, lookup, eps, clock } = setup()
  const transitions: BreakerTransition[] = []
  events.on({ breakerTransition: (e) => transitions.push(e) })
  const [a] = eps
  let status = 503
  const send = compose([breakerLayer(lookup)], async (at) => response(at.endpoint, status))
  await send(attempt(a!))
  await send(attempt(a!))
  await flush()
  t.equal(a!.breaker.kind, 'open')
  t.notOk(set.snapshot.eligible.includes(a!), 'open: out of picking')
  t.match(transitions, [{ service: 'svc', endpoint: a!.address, from: 'closed', to: 'open' }])
  await t.rejects(send(attempt(a!)), BreakerOpenError, 'a refused admission fails the try')

  clock.advance(1_000)
  t.equal(a!.breaker.kind, 'half-open')
  t.ok(set.snapshot.eligible.includes(a!), 'half-open: pickable for the trial')
  let release!: () => void
  const held = compose([breakerLayer(lookup)], (at) => new Promise<UpstreamResponse>((resolve) => (release = () => resolve(response(at.endpoint, 200)))))
  const trial = held(attempt(a!))
  t.notOk(set.snapshot.eligible.includes(a!), 'the trial in flight takes it out of picking')
  t.match(a!.eligibility(clock.now()).reason, /trial request in flight/)
  release()
  await trial
  await flush()
  t.equal(a!.breaker.kind, 'closed', 'the trial succeeded')
  t.ok(set.snapshot.eligible.includes(a!))
  t.same(transitions.map((e) => e.to), ['open', 'half-open', 'closed'])
  status = 200
  s.stop()
})

t.test('breaker layer in panic mode: an open breaker is bypassed (every endpoint takes traffic)', async (t) => {
  const { set, s, lookup, eps } = setup({ panicThreshold: 100 }, 2)
  const send = compose([breakerLayer(lookup)], async (at) => response(at.endpoint, 503))
  await send(attempt(eps[0]!))
  await send(attempt(eps[0]!))
  await flush()
  t.equal(eps[0]!.breaker.kind, 'open')
  t.equal(set.snapshot.panic, true)
  t.equal((await send(attempt(eps[0]!))).status, 503, 'sent anyway in panic')
  s.stop()
})

t.test('lag: failures are neutral for breakers and outlier detection while commy lags', async (t) => {
  const { s, lookup, eps, setLagging } = setup({ breaker: { ...service().breaker, volumeThreshold: 5 } })
  const send = compose([breakerLayer(lookup), outlierLayer(lookup)], async (at) => response(at.endpoint, 503))
  setLagging(true)
  for (let i = 0; i < 5; i++) await send(attempt(eps[0]!))
  await flush()
  t.equal(eps[0]!.breaker.kind, 'closed')
  t.equal(eps[0]!.ejectedUntil, 0)
  setLagging(false)
  for (let i = 0; i < 3; i++) await send(attempt(eps[0]!))
  await flush()
  t.ok(eps[0]!.ejectedUntil > 0, 'ejected after three failures once the loop is fine')
  t.equal(s.breaker(eps[0]!).stats().failures, 3, 'the breaker counted only those three')
  t.equal(s.ejections(eps[0]!), 1)
  s.stop()
})

t.test('limit layer: slots held until the body is done; a full queue fails fast with OverloadedError', async (t) => {
  const { s, lookup, eps } = setup({ concurrency: { maxInFlight: 1, maxQueued: 1, queueTimeoutMs: 1_000 } })
  const pending: (() => void)[] = []
  const send = compose([limitLayer(lookup)], (at) => new Promise<UpstreamResponse>((resolve) => pending.push(() => resolve(response(at.endpoint, 200)))))
  const first = send(attempt(eps[0]!))
  const second = send(attempt(eps[1]!))
  await flush()
  t.equal(pending.length, 1, 'one in flight, one queued')
  await t.rejects(send(attempt(eps[2]!)), OverloadedError)
  pending.shift()!()
  await first
  await flush()
  t.equal(pending.length, 1, 'the queued try got the slot')
  pending.shift()!()
  await second
  t.match(s.limit.stats(), { inFlight: 0, queued: 0, rejected: 1 })
  s.stop()
})

const policy = (over: Partial<RetryPolicyConfig> = {}): RetryPolicyConfig => ({
  attempts: 3,
  perTryTimeoutMs: 0,
  on: ['connect-failure', 'reset', 503],
  methods: ['GET'],
  backoffBaseMs: 1,
  backoffMaxMs: 2,
  maxBufferedBody: 1024,
  ...over,
})
const ctx = (over: Partial<RetryContext> = {}): RetryContext => ({ policy: policy(), method: 'GET', service: 'svc', tries: 1, body: 'none', ...over })

t.test('budgeted retry decider: policy first, then the budget; events for retries and refusals', async (t) => {
  const { s, lookup, events, eps } = setup({ retryBudget: { ratio: 0.5, minPerSecond: 0 } })
  const retries: string[] = []
  const refused: number[] = []
  events.on({ retry: (e) => retries.push(`${e.reason}:${e.budgeted}`), budgetExhausted: (e) => refused.push(e.stats.requests) })
  const decide = budgetedRetryDecider(lookup, events)
  const count = compose([budgetLayer(lookup)], async (at) => response(at.endpoint, 200))
  await count(attempt(eps[0]!, 1))
  await count(attempt(eps[0]!, 2))
  await count(attempt(eps[0]!, 1))
  t.equal(s.budget.stats().requests, 2, 'only first tries are requests')

  t.equal(decide(ctx(), 503).retry, true, 'one retry allowed: 0.5 × 2 requests')
  t.same(decide(ctx(), 503), { retry: false, reason: 'retry budget exhausted', budgeted: false })
  t.same(refused, [2])
  t.equal(decide(ctx(), new UpstreamResetError('x', 'idle-race')).retry, true, 'the keep-alive race is not budgeted')
  t.equal(decide(ctx({ tries: 3, method: 'POST' }), new UpstreamResetError('x', 'unwritten')).retry, true, 'nor a request never written, which gets one try beyond attempts')
  t.equal(decide(ctx({ tries: 3 }), new BreakerOpenError('x')).retry, true, 'a breaker refusal moves on (nothing was sent)')
  t.equal(decide(ctx({ tries: 4 }), new BreakerOpenError('x')).retry, false)
  t.equal(decide(ctx({ method: 'POST', body: 'streamed' }), new BreakerOpenError('x')).retry, false, 'but never replays a consumed stream')
  t.same(retries, ['status 503:true', 'reset before write (keep-alive race):false', 'reset before the request was written:false'])
  s.stop()
})

t.test('reconfigure: only mechanisms whose config changed are rebuilt', async (t) => {
  const { s, lookup, eps } = setup()
  const send = compose([breakerLayer(lookup)], async (at) => response(at.endpoint, 503))
  await send(attempt(eps[0]!))
  await send(attempt(eps[0]!))
  await flush()
  t.equal(eps[0]!.breaker.kind, 'open')
  const budget = s.budget
  t.same(s.reconfigure(service({ concurrency: { maxInFlight: 5, maxQueued: 0, queueTimeoutMs: 1_000 } })), ['concurrency'])
  t.equal(eps[0]!.breaker.kind, 'open', 'breakers kept')
  t.equal(s.budget, budget, 'budget kept')
  t.same(s.reconfigure(service({ concurrency: { maxInFlight: 5, maxQueued: 0, queueTimeoutMs: 1_000 }, breaker: { ...service().breaker, volumeThreshold: 9 } })), ['breaker'])
  t.equal(eps[0]!.breaker.kind, 'closed', 'breakers rebuilt')
  s.stop()
  s.stop()
  t.pass('stop is idempotent')
})

t.test('send that throws synchronously gives a half-open trial back', async (t) => {
  const { s, lookup, eps, clock } = setup()
  const failing = compose([breakerLayer(lookup)], async (at) => response(at.endpoint, 503))
  await failing(attempt(eps[0]!))
  await failing(attempt(eps[0]!))
  await flush()
  clock.advance(1_000)
  const throwing: Send = () => {
    throw new UpstreamConnectError('x')
  }
  t.throws(() => compose([breakerLayer(lookup)], throwing)(attempt(eps[0]!)))
  t.equal(eps[0]!.breaker.kind, 'open', 'the trial failed: open again (not stuck half-open)')
  s.stop()
})
