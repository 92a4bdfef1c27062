import t from 'tap'
import type { RetryPolicyConfig } from '../../src/config/types.js'
import {
  BreakerOpenError,
  ClientAbortedError,
  UpstreamConnectError,
  UpstreamProtocolError,
  UpstreamResetError,
  UpstreamTimeoutError,
} from '../../src/errors.js'
import { decideRetry, retryCondition, type TryReport } from '../../src/resilience/retry-policy.js'

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
const report = (over: Partial<TryReport>): TryReport => ({ method: 'GET', tries: 1, outcome: 503, bodySent: false, bodyBuffered: false, ...over })

interface Row {
  name: string
  policy?: Partial<RetryPolicyConfig>
  report: Partial<TryReport>
  retry: boolean
  reason: RegExp
  budgeted?: boolean
}

const table: Row[] = [
  { name: 'GET 503', report: {}, retry: true, reason: /^status 503$/, budgeted: true },
  { name: 'get (lower case) 502', report: { method: 'get', outcome: 502 }, retry: true, reason: /status 502/ },
  { name: 'GET 500 not in conditions', report: { outcome: 500 }, retry: false, reason: /status 500 not in retry conditions/ },
  { name: 'GET 200', report: { outcome: 200 }, retry: false, reason: /status 200 not in retry conditions/ },
  { name: 'GET 404', report: { outcome: 404 }, retry: false, reason: /404/ },
  { name: 'GET connect error', report: { outcome: new UpstreamConnectError(EP) }, retry: true, reason: /connect failure/, budgeted: true },
  { name: 'GET reset after write', report: { outcome: new UpstreamResetError(EP, false) }, retry: true, reason: /^reset$/ },
  { name: 'GET timeout', report: { outcome: new UpstreamTimeoutError(EP, 100) }, retry: true, reason: /^timeout$/ },
  { name: 'GET timeout not configured', policy: { on: ['connect-failure'] }, report: { outcome: new UpstreamTimeoutError(EP, 100) }, retry: false, reason: /timeout not in retry conditions/ },
  { name: 'GET protocol error', report: { outcome: new UpstreamProtocolError(EP) }, retry: false, reason: /UpstreamProtocolError is not retryable/ },
  { name: 'breaker open is re-picked, not retried', report: { outcome: new BreakerOpenError(EP) }, retry: false, reason: /not retryable/ },
  { name: 'client aborted', report: { outcome: new ClientAbortedError() }, retry: false, reason: /client aborted/ },
  { name: 'third try done', report: { tries: 3 }, retry: false, reason: /attempts exhausted/ },
  { name: 'attempts 1', policy: { attempts: 1 }, report: {}, retry: false, reason: /retries disabled/ },
  { name: 'route deadline passed', report: { remainingMs: 0 }, retry: false, reason: /route timeout/ },
  { name: 'time left', report: { remainingMs: 5 }, retry: true, reason: /503/ },
  // method safety
  { name: 'POST 503', report: { method: 'POST' }, retry: false, reason: /method POST is not retried/ },
  { name: 'POST reset after write', report: { method: 'POST', outcome: new UpstreamResetError(EP, false) }, retry: false, reason: /method POST/ },
  { name: 'POST timeout', report: { method: 'POST', outcome: new UpstreamTimeoutError(EP, 5) }, retry: false, reason: /method POST/ },
  { name: 'POST connect error (nothing reached the endpoint)', report: { method: 'POST', outcome: new UpstreamConnectError(EP) }, retry: true, reason: /connect failure/ },
  { name: 'PATCH 503', report: { method: 'PATCH' }, retry: false, reason: /method PATCH/ },
  { name: 'POST 503 with POST allowed and body buffered', policy: { methods: ['GET', 'POST'] }, report: { method: 'POST', bodySent: true, bodyBuffered: true }, retry: true, reason: /503/ },
  // body safety
  { name: 'POST allowed but body streamed, not buffered', policy: { methods: ['POST'] }, report: { method: 'POST', bodySent: true, bodyBuffered: false }, retry: false, reason: /body already streamed/ },
  { name: 'PUT streamed body, not buffered', report: { method: 'PUT', bodySent: true }, retry: false, reason: /body already streamed/ },
  { name: 'PUT buffered body', report: { method: 'PUT', bodySent: true, bodyBuffered: true }, retry: true, reason: /503/ },
  // the keep-alive race
  { name: 'POST reset before write', report: { method: 'POST', outcome: new UpstreamResetError(EP, true) }, retry: true, reason: /keep-alive race/, budgeted: false },
  { name: 'reset before write with attempts 1', policy: { attempts: 1 }, report: { outcome: new UpstreamResetError(EP, true) }, retry: true, reason: /keep-alive race/, budgeted: false },
  { name: 'reset before write, conditions empty', policy: { on: [] }, report: { outcome: new UpstreamResetError(EP, true) }, retry: true, reason: /keep-alive race/ },
  { name: 'reset before write one beyond attempts', policy: { attempts: 1 }, report: { tries: 2, outcome: new UpstreamResetError(EP, true) }, retry: false, reason: /attempts exhausted/ },
]

t.test('retry decisions', async (t) => {
  for (const row of table) {
    const d = decideRetry(policy(row.policy), report(row.report))
    t.equal(d.retry, row.retry, `${row.name}: retry=${row.retry}`)
    t.match(d.reason, row.reason, `${row.name}: ${d.reason}`)
    if (row.budgeted !== undefined) t.equal(d.budgeted, row.budgeted, `${row.name}: budgeted=${row.budgeted}`)
    if (!d.retry) t.equal(d.budgeted, false)
  }
})

t.test('retryCondition maps outcomes to config conditions', async (t) => {
  t.equal(retryCondition(503), 503)
  t.equal(retryCondition(new UpstreamConnectError(EP)), 'connect-failure')
  t.equal(retryCondition(new UpstreamResetError(EP, false)), 'reset')
  t.equal(retryCondition(new UpstreamTimeoutError(EP, 1)), 'timeout')
  t.equal(retryCondition(new Error('x')), undefined)
})

t.test('the decision is pure: same input, same answer', async (t) => {
  const p = policy()
  const r = report({})
  t.same(decideRetry(p, r), decideRetry(p, r))
})
