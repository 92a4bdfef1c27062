import t from 'tap'
import { RouteTable } from '../../src/proxy/routes.js'
import { splitAbsolute } from '../../src/proxy/forwarder.js'
import { json, request, startUpstream } from '../helpers/upstream.js'
import { oneListener, startSidecar } from '../helpers/sidecar.js'

const m = (host?: string, pathPrefix?: string, headers: [string, string][] = []) => ({ host, pathPrefix, headers })

t.test('route table: first match wins; host without port and case; wildcards; prefix; headers', async (t) => {
  const table = new RouteTable([
    { match: m(undefined, '/users', [['x-canary', '1']]), target: 'canary' },
    { match: m('payments'), target: 'payments' },
    { match: m('*.example.com'), target: 'wild' },
    { match: m(undefined, '/users'), target: 'users' },
    { match: m(), target: 'default' },
  ])
  const q = (host: string | undefined, path: string, raw: string[] = []) => table.match({ host: undefined, path, rawHeaders: host ? ['Host', host, ...raw] : raw })
  t.equal(q('payments', '/x'), 'payments')
  t.equal(q('PAYMENTS:8080', '/x'), 'payments', 'port and case ignored')
  t.equal(q('a.example.com', '/'), 'wild')
  t.equal(q('a.b.example.com', '/'), 'wild', 'any depth of sub-domain')
  t.equal(q('example.com', '/'), 'default', 'the bare domain is not a sub-domain')
  t.equal(q('other', '/users/1'), 'users')
  t.equal(q('other', '/users/1', ['X-Canary', '1']), 'canary', 'header names are case-insensitive')
  t.equal(q('other', '/users/1', ['x-canary', '2']), 'users', 'header value must be exact')
  t.equal(q(undefined, '/nothing'), 'default')
  t.equal(table.match({ host: 'payments:1', path: '/', rawHeaders: ['host', 'other'] }), 'payments', 'absolute-form host wins')
  t.equal(new RouteTable([{ match: m('a'), target: 1 }]).match({ host: undefined, path: '/', rawHeaders: [] }), undefined)
})

t.test('absolute-form request targets', async (t) => {
  t.same(splitAbsolute('http://payments:8080/a/b?c=1'), { host: 'payments:8080', path: '/a/b?c=1' })
  t.same(splitAbsolute('http://payments'), { host: 'payments', path: '/' })
  t.same(splitAbsolute('http://payments?x=1'), { host: 'payments', path: '/?x=1' })
})

t.test('requests go to the service of the first matching route; unknown route is 404', async (t) => {
  const [a, b, c] = await Promise.all([startUpstream('payments'), startUpstream('users'), startUpstream('canary')])
  const sc = await startSidecar(
    oneListener(
      [
        { match: { host: 'payments' }, service: 'payments' },
        { match: { pathPrefix: '/users', headers: { 'x-canary': '1' } }, service: 'users-canary' },
        { name: 'users', match: { pathPrefix: '/users' }, service: 'users' },
      ],
      {
        payments: { endpoints: [{ address: a.address }] },
        users: { endpoints: [{ address: b.address }] },
        'users-canary': { endpoints: [{ address: c.address }] },
      },
    ),
  )
  t.teardown(async () => {
    await sc.stop()
    await Promise.all([a.close(), b.close(), c.close()])
  })

  const r1 = await request(sc.port, { path: '/anything', headers: { host: 'payments:15001' } })
  t.equal(r1.status, 200)
  t.equal(json(r1).upstream, 'payments')
  t.equal(a.seen[0]!.headers.host, 'payments:15001', 'Host is passed unchanged')

  const r2 = await request(sc.port, { path: '/users/7?x=1', headers: { host: 'app' } })
  t.equal(json(r2).upstream, 'users')
  t.equal(json(r2).url, '/users/7?x=1', 'path and query forwarded as received')

  const r3 = await request(sc.port, { path: '/users/7', headers: { host: 'app', 'x-canary': '1' } })
  t.equal(json(r3).upstream, 'canary')

  const r4 = await request(sc.port, { method: 'POST', path: '/nowhere', headers: { host: 'app' }, body: 'x' })
  t.equal(r4.status, 404)
  const body = json(r4)
  t.equal(body.code, 'COMMY_ERR_NO_ROUTE')
  t.type(body.error, 'string')
  t.type(body.requestId, 'string')
  t.equal(r4.headers['content-type'], 'application/json; charset=utf-8')

  const r5 = await request(sc.port, { path: 'http://payments/abs', headers: { host: 'payments' } })
  t.equal(json(r5).upstream, 'payments', 'absolute-form target (commy used as an HTTP proxy)')
  t.equal(json(r5).url, '/abs')

  const log = sc.access.find((r) => r.path === '/users/7' && r.service === 'users')!
  t.ok(log, 'access log line written')
  t.match(log, { log: 'access', method: 'GET', route: 'users', service: 'users', endpoint: b.address, status: 200, attempts: 1, listener: 'outbound' })
  t.type(log.durationMs, 'number')
  t.type(log.requestId, 'string')
  t.ok((log.bytesOut as number) > 0)
  t.match(sc.access.find((r) => r.status === 404), { code: 'COMMY_ERR_NO_ROUTE', attempts: 0 })
})
