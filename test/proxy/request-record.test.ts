import t from 'tap'
import { requestRecord, roundMs } from '../../src/proxy/request-record.js'

t.test('requestRecord: the query is dropped, the duration rounded, GET when no method, route split in name and service', async (t) => {
  const r = requestRecord({
    listener: 'out',
    method: undefined,
    url: '/pay/charge?card=4111',
    route: { name: 'pay', service: 'payments' },
    endpoint: '10.0.0.1:80',
    status: 200,
    startedAt: 1.001,
    endedAt: 13.3456,
    bytesIn: 3,
    bytesOut: 4,
    attempts: 2,
    requestId: 'r1',
    code: undefined,
  })
  t.same(r, {
    listener: 'out',
    method: 'GET',
    path: '/pay/charge',
    route: 'pay',
    service: 'payments',
    endpoint: '10.0.0.1:80',
    status: 200,
    durationMs: 12.34,
    bytesIn: 3,
    bytesOut: 4,
    attempts: 2,
    requestId: 'r1',
    code: undefined,
    explain: undefined,
    tries: [],
    endedAt: 13.3456,
  })
  const refused = requestRecord({ ...r, method: 'POST', url: '/x', route: undefined, endpoint: undefined, status: 404, startedAt: 0, endedAt: 0, code: 'COMMY_ERR_NO_ROUTE' })
  t.equal(refused.route, undefined)
  t.equal(refused.service, undefined)
  t.equal(refused.method, 'POST')
  t.equal(roundMs(1.23456), 1.23)
})
