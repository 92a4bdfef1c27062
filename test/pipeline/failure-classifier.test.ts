import t from 'tap'
import { classify, FAILURE_CLASSIFIER_TABLE } from '../../src/pipeline/failure-classifier.js'
import {
  ClientAbortedError,
  DrainingError,
  OverloadedError,
  UpstreamConnectError,
  UpstreamIdentityError,
  UpstreamProtocolError,
  UpstreamResetError,
  UpstreamTimeoutError,
} from '../../src/errors.js'

t.test('every table row classifies its own example to itself', async (t) => {
  t.ok(FAILURE_CLASSIFIER_TABLE.length >= 15)
  for (const row of FAILURE_CLASSIFIER_TABLE) {
    t.equal(classify(row.example), row, row.outcome)
    t.ok(Object.isFrozen(row))
  }
  t.ok(Object.isFrozen(FAILURE_CLASSIFIER_TABLE))
  t.equal(new Set(FAILURE_CLASSIFIER_TABLE.map((r) => r.reason)).size, FAILURE_CLASSIFIER_TABLE.length, 'reasons are unique')
})

t.test('statuses', async (t) => {
  const v = (s: number) => classify(s).verdict
  for (const s of [500, 502, 503, 504, 506, 507, 599]) t.equal(v(s), 'failure', `${s}`)
  for (const s of [501, 505]) t.equal(v(s), 'neutral', `${s}`)
  for (const s of [100, 101, 200, 204, 301, 304, 400, 401, 403, 404, 409, 499]) t.equal(v(s), 'success', `${s}`)
  for (const s of [408, 429]) t.equal(v(s), 'neutral', `${s}`)
  for (const s of [0, 99, 600, 999]) t.equal(v(s), 'failure', `${s} is not HTTP`)
})

t.test('errors', async (t) => {
  const ep = '10.0.0.1:80'
  t.match(classify(new UpstreamConnectError(ep)), { verdict: 'failure', reason: 'connect-error' }, 'connect error counts')
  t.match(classify(new UpstreamIdentityError(ep, 'spiffe://c/service/a', undefined)), { verdict: 'failure', reason: 'identity-mismatch' }, 'an impostor counts')
  t.match(classify(new UpstreamResetError(ep, 'written')), { verdict: 'failure', reason: 'reset' }, 'reset after write counts')
  t.match(classify(new UpstreamResetError(ep, 'idle-race')), { verdict: 'neutral', reason: 'reset-before-write' }, 'keep-alive race does not')
  t.match(classify(new UpstreamTimeoutError(ep, 5)), { verdict: 'failure', reason: 'timeout' })
  t.match(classify(new UpstreamProtocolError(ep)), { verdict: 'failure', reason: 'protocol-error' })
  t.match(classify(new ClientAbortedError()), { verdict: 'neutral', reason: 'client-aborted' })
  t.match(classify(new OverloadedError('s', 'full')), { verdict: 'neutral', reason: 'local' })
  t.match(classify(new DrainingError()), { verdict: 'neutral', reason: 'local' })
  t.match(classify(new Error('socket hang up')), { verdict: 'neutral', reason: 'unclassified' }, 'never branches on messages')
})

t.test('classify allocates nothing: same object for the same class of outcome', async (t) => {
  t.equal(classify(502), classify(503))
  t.equal(classify(new UpstreamConnectError('a:1')), classify(new UpstreamConnectError('b:2')))
})
