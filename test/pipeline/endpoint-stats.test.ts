import t from 'tap'
import { Endpoint } from '../../src/endpoint/endpoint.js'
import { ClientAbortedError, UpstreamConnectError } from '../../src/errors.js'
import { tryCounter } from '../../src/pipeline/endpoint-stats.js'

const endpoint = () => new Endpoint('svc', { host: '127.0.0.1', port: 1, weight: 1, zone: undefined, tags: [] }, 'static', 10_000)

t.test('tryCounter counts requests, in flight and failures as the failure classifier says', async (t) => {
  const ep = endpoint()
  const tries = tryCounter()
  tries.begin(ep)
  tries.begin(ep)
  t.equal(ep.requests, 2)
  t.equal(ep.inFlight, 2)
  tries.outcome(ep, 503)
  tries.outcome(ep, new UpstreamConnectError(ep.address))
  t.equal(ep.failures, 2)
  t.equal(ep.consecutiveFailures, 2)
  tries.outcome(ep, new ClientAbortedError())
  tries.outcome(ep, 501)
  t.equal(ep.failures, 2, 'neutral outcomes count nothing')
  t.equal(ep.consecutiveFailures, 2)
  tries.outcome(ep, 101)
  t.equal(ep.consecutiveFailures, 0, 'a success (an upgrade switched protocols) resets the consecutive count')
  tries.end(ep)
  tries.end(ep)
  t.equal(ep.inFlight, 0)
})

t.test('tryCounter leaves consecutive failures to outlier detection when told to', async (t) => {
  const ep = endpoint()
  const tries = tryCounter({ consecutiveFailures: false })
  ep.consecutiveFailures = 3
  tries.outcome(ep, 500)
  t.equal(ep.failures, 1)
  t.equal(ep.consecutiveFailures, 3)
  tries.outcome(ep, 200)
  t.equal(ep.consecutiveFailures, 3)
})
