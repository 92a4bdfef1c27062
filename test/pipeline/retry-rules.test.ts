/**
 * The retry rules (pipeline/retry-rules.ts), each tested once. The loop's mechanics (backoff,
 * buffering) and retries against real upstreams are in test/proxy/retry.test.ts; the budget and
 * breaker-refusal wrapper in test/resilience/layers.test.ts.
 */
import t from 'tap'
import type { RetryPolicyConfig } from '../../src/config/types.js'
import {
  BadRequestError,
  BreakerOpenError,
  ClientAbortedError,
  UpstreamConnectError,
  UpstreamIdentityError,
  UpstreamProtocolError,
  UpstreamResetError,
  UpstreamTimeoutError,
} from '../../src/errors.js'
import type { AttemptOutcome } from '../../src/pipeline/failure-classifier.js'
import { bodyReplayable, decideRetry, isFreeRetry, retriesMethod, retryCondition, type RetryContext } from '../../src/pipeline/retry-rules.js'
import { createRetry } from '../../src/proxy/retry.js'
import { seededRandom } from '../../src/clock.js'
import { ResilienceEventHub } from '../../src/resilience/events.js'
import { budgetedRetryDecider } from '../../src/resilience/retry-decider.js'

const policy = (over: Partial<RetryPolicyConfig> = {}): RetryPolicyConfig => ({
  attempts: 3,
  perTryTimeoutMs: 0,
  on: ['connect-failure', 'reset', 'timeout', 502, 503, 504],
  methods: ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE'],
  backoffBaseMs: 25,
  backoffMaxMs: 250,
  maxBufferedBody: 65536,
  ...over,
})

const EP = '127.0.0.1:9'
const ctx = (over: Partial<RetryContext> = {}): RetryContext => ({ policy: policy(), method: 'GET', service: 's', tries: 1, body: 'none', ...over })

interface Row {
  name: string
  policy?: Partial<RetryPolicyConfig>
  ctx?: Partial<Omit<RetryContext, 'policy'>>
  outcome?: AttemptOutcome
  retry: boolean
  reason: RegExp
  budgeted?: boolean
}

const table: Row[] = [
  // 1. the client left; a consumed stream cannot be replayed
  { name: 'client aborted', outcome: new ClientAbortedError(), retry: false, reason: /client aborted/ },
  { name: 'PUT streamed body (consumed, not buffered)', ctx: { method: 'PUT', body: 'streamed' }, retry: false, reason: /body already streamed/ },
  { name: 'POST allowed but body streamed', policy: { methods: ['POST'] }, ctx: { method: 'POST', body: 'streamed' }, retry: false, reason: /body already streamed/ },
  { name: 'a consumed stream is never replayed, even after a connect failure', ctx: { body: 'streamed' }, outcome: new UpstreamConnectError(EP), retry: false, reason: /body already streamed/ },
  { name: 'a consumed stream is never replayed, even in the keep-alive race', ctx: { body: 'streamed' }, outcome: new UpstreamResetError(EP, 'unwritten'), retry: false, reason: /body already streamed/ },
  { name: 'PUT buffered body', ctx: { method: 'PUT', body: 'buffered' }, retry: true, reason: /^status 503$/ },
  { name: 'PUT stream nobody read yet', ctx: { method: 'PUT', body: 'unread' }, retry: true, reason: /^status 503$/ },
  // 2. never written (any method), or the keep-alive race (safe methods only): one free try
  { name: 'POST reset before it was written', ctx: { method: 'POST' }, outcome: new UpstreamResetError(EP, 'unwritten'), retry: true, reason: /before the request was written/, budgeted: false },
  { name: 'POST with a buffered body, never written', ctx: { method: 'POST', body: 'buffered' }, outcome: new UpstreamResetError(EP, 'unwritten'), retry: true, reason: /before the request was written/, budgeted: false },
  { name: 'POST in the keep-alive race: may have reached the endpoint, not repeated', ctx: { method: 'POST' }, outcome: new UpstreamResetError(EP, 'idle-race'), retry: false, reason: /method POST is not retried/ },
  { name: 'POST in the keep-alive race with attempts 1', policy: { attempts: 1 }, ctx: { method: 'POST' }, outcome: new UpstreamResetError(EP, 'idle-race'), retry: false, reason: /retries disabled/ },
  { name: 'DELETE in the keep-alive race with attempts 1: not free', policy: { attempts: 1 }, ctx: { method: 'DELETE' }, outcome: new UpstreamResetError(EP, 'idle-race'), retry: false, reason: /retries disabled/ },
  { name: 'DELETE in the keep-alive race, the route retries DELETE on reset: a budgeted retry', ctx: { method: 'DELETE' }, outcome: new UpstreamResetError(EP, 'idle-race'), retry: true, reason: /^reset$/, budgeted: true },
  { name: 'POST in the keep-alive race, the route retries POST', policy: { methods: ['POST'] }, ctx: { method: 'POST' }, outcome: new UpstreamResetError(EP, 'idle-race'), retry: true, reason: /^reset$/, budgeted: true },
  { name: 'GET in the keep-alive race', outcome: new UpstreamResetError(EP, 'idle-race'), retry: true, reason: /keep-alive race/, budgeted: false },
  { name: 'head (lower case) in the keep-alive race', ctx: { method: 'head' }, outcome: new UpstreamResetError(EP, 'idle-race'), retry: true, reason: /keep-alive race/, budgeted: false },
  { name: 'GET keep-alive race with attempts 1', policy: { attempts: 1 }, outcome: new UpstreamResetError(EP, 'idle-race'), retry: true, reason: /keep-alive race/, budgeted: false },
  { name: 'GET keep-alive race, conditions empty', policy: { on: [] }, outcome: new UpstreamResetError(EP, 'idle-race'), retry: true, reason: /keep-alive race/ },
  { name: 'GET keep-alive race, one try beyond attempts', policy: { attempts: 1 }, ctx: { tries: 2 }, outcome: new UpstreamResetError(EP, 'idle-race'), retry: false, reason: /attempts exhausted/ },
  { name: 'never written, one try beyond attempts', policy: { attempts: 1 }, ctx: { method: 'POST', tries: 2 }, outcome: new UpstreamResetError(EP, 'unwritten'), retry: false, reason: /attempts exhausted/ },
  // 3. attempts
  { name: 'third try done', ctx: { tries: 3 }, retry: false, reason: /attempts exhausted/ },
  { name: 'attempts 1', policy: { attempts: 1 }, retry: false, reason: /retries disabled/ },
  // 4. conditions
  { name: 'GET 503', retry: true, reason: /^status 503$/, budgeted: true },
  { name: 'get (lower case) 502', ctx: { method: 'get' }, outcome: 502, retry: true, reason: /status 502/ },
  { name: 'GET 500 not in conditions', outcome: 500, retry: false, reason: /status 500 not in retry conditions/ },
  { name: 'GET 200', outcome: 200, retry: false, reason: /status 200 not in retry conditions/ },
  { name: 'GET 404', outcome: 404, retry: false, reason: /404/ },
  { name: 'GET reset after write', outcome: new UpstreamResetError(EP, 'written'), retry: true, reason: /^reset$/ },
  { name: 'GET timeout', outcome: new UpstreamTimeoutError(EP, 100), retry: true, reason: /^timeout$/ },
  { name: 'GET timeout not configured', policy: { on: ['connect-failure'] }, outcome: new UpstreamTimeoutError(EP, 100), retry: false, reason: /timeout not in retry conditions/ },
  { name: 'connect failure not configured', policy: { on: ['reset'] }, outcome: new UpstreamConnectError(EP), retry: false, reason: /connect-failure not in retry conditions/ },
  { name: 'GET protocol error', outcome: new UpstreamProtocolError(EP), retry: false, reason: /UpstreamProtocolError is not retryable/ },
  { name: 'a bad request is not retried', outcome: new BadRequestError('x'), retry: false, reason: /BadRequestError is not retryable/ },
  { name: 'breaker open is not a rule here (the resilience decider re-picks)', outcome: new BreakerOpenError(EP), retry: false, reason: /not retryable/ },
  // 5. connect failures never reached the endpoint
  { name: 'GET connect error', outcome: new UpstreamConnectError(EP), retry: true, reason: /connect failure/, budgeted: true },
  { name: 'POST connect error (nothing reached the endpoint)', ctx: { method: 'POST' }, outcome: new UpstreamConnectError(EP), retry: true, reason: /connect failure/ },
  // 6. method safety
  { name: 'POST 503', ctx: { method: 'POST' }, retry: false, reason: /method POST is not retried/ },
  { name: 'POST reset after write', ctx: { method: 'POST' }, outcome: new UpstreamResetError(EP, 'written'), retry: false, reason: /method POST/ },
  { name: 'POST timeout', ctx: { method: 'POST' }, outcome: new UpstreamTimeoutError(EP, 5), retry: false, reason: /method POST/ },
  { name: 'PATCH 503', ctx: { method: 'PATCH' }, retry: false, reason: /method PATCH/ },
  { name: 'POST 503 with POST allowed and body buffered', policy: { methods: ['GET', 'POST'] }, ctx: { method: 'POST', body: 'buffered' }, retry: true, reason: /503/ },
]

const run = (row: Row) => [ctx({ policy: policy(row.policy), ...row.ctx }), row.outcome ?? 503] as const

t.test('retry decisions', async (t) => {
  for (const row of table) {
    const d = decideRetry(...run(row))
    t.equal(d.retry, row.retry, `${row.name}: retry=${row.retry}`)
    t.match(d.reason, row.reason, `${row.name}: ${d.reason}`)
    if (row.budgeted !== undefined) t.equal(d.budgeted, row.budgeted, `${row.name}: budgeted=${row.budgeted}`)
    if (!d.retry) t.equal(d.budgeted, false)
  }
})

t.test('the default Sidecar and the resilience plugin make the same safety decisions', async (t) => {
  // without a budget in play, the plugin's decider is the rules (plus its breaker-refusal rule)
  const withPlugin = budgetedRetryDecider(() => undefined, new ResilienceEventHub())
  const withoutPlugin = createRetry(policy(), seededRandom(1)).decide
  t.equal(withoutPlugin, decideRetry, 'a route without a decider uses the rules')
  for (const row of table) {
    if (row.outcome instanceof BreakerOpenError) continue
    t.same(withPlugin(...run(row)), withoutPlugin(...run(row)), row.name)
  }
})

t.test('retryCondition maps outcomes to config conditions', async (t) => {
  t.equal(retryCondition(503), 503)
  t.equal(retryCondition(new UpstreamConnectError(EP)), 'connect-failure')
  t.equal(retryCondition(new UpstreamResetError(EP, 'written')), 'reset')
  t.equal(retryCondition(new UpstreamResetError(EP, 'idle-race')), 'reset')
  t.equal(retryCondition(new UpstreamTimeoutError(EP, 1)), 'timeout')
  t.equal(retryCondition(new Error('x')), undefined)
})

t.test('helpers: the free try, replayable bodies, retried methods', async (t) => {
  t.ok(isFreeRetry(new UpstreamResetError(EP, 'unwritten'), 'POST'), 'never written: any method')
  t.ok(isFreeRetry(new UpstreamResetError(EP, 'idle-race'), 'GET'))
  t.notOk(isFreeRetry(new UpstreamResetError(EP, 'idle-race'), 'POST'), 'the race may have delivered a POST')
  t.notOk(isFreeRetry(new UpstreamResetError(EP, 'idle-race'), 'PUT'))
  t.notOk(isFreeRetry(new UpstreamResetError(EP, 'written'), 'GET'))
  t.notOk(isFreeRetry(new UpstreamConnectError(EP), 'GET'))
  const impostor = new UpstreamIdentityError(EP, 'spiffe://commy/service/a', 'spiffe://commy/service/b')
  t.ok(isFreeRetry(impostor, 'POST'), 'identity refused in the handshake: nothing was sent, any method')
  t.match(decideRetry(ctx({ method: 'POST', policy: policy({ attempts: 1 }) }), impostor), { retry: true, budgeted: false }, 'even with attempts: 1, not charged to the budget')
  t.match(decideRetry(ctx({ method: 'POST', tries: 2, policy: policy({ attempts: 1 }) }), impostor), { retry: false }, 'one free try only')
  t.same((['none', 'buffered', 'unread', 'streamed'] as const).map(bodyReplayable), [true, true, true, false])
  t.ok(retriesMethod(policy(), 'put'))
  t.notOk(retriesMethod(policy(), 'POST'))
})

t.test('the decision is pure: same input, same answer', async (t) => {
  const c = ctx()
  t.same(decideRetry(c, 503), decideRetry(c, 503))
})
