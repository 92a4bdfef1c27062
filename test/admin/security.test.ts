import t from 'tap'
import { authorize, checkHost, checkOrigin, isExposed, isLoopbackHost, parseHost, tokenMatches, type AccessPolicy } from '../../src/admin/security.js'

const TOKEN = 'test-token-0123456789abcdef'
const loopback: AccessPolicy = { token: undefined, listenHost: '127.0.0.1', port: 15000 }
const facts = (over: Partial<Parameters<typeof authorize>[1]> = {}) => ({
  host: '127.0.0.1:15000',
  origin: undefined,
  secFetchSite: undefined,
  authorization: undefined,
  ...over,
})

t.test('loopback names', async (t) => {
  for (const h of ['localhost', 'LOCALHOST', '127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1']) t.ok(isLoopbackHost(h), h)
  for (const h of ['0.0.0.0', '::', '10.0.0.1', 'localhost.evil.example', '127.0.0.1.nip.io', '::ffff:10.0.0.1']) t.notOk(isLoopbackHost(h), h)
  t.notOk(isExposed('127.0.0.1'))
  t.ok(isExposed('0.0.0.0'))
})

t.test('Host header parsing', async (t) => {
  t.same(parseHost('127.0.0.1:15000'), { hostname: '127.0.0.1', port: 15000 })
  t.same(parseHost('[::1]:80'), { hostname: '::1', port: 80 })
  t.same(parseHost('Example.COM.'), { hostname: 'example.com', port: undefined })
  t.equal(parseHost('a b'), undefined)
  t.equal(parseHost('user@host'), undefined)
  t.equal(parseHost('[::1'), undefined)
})

t.test('Host check: loopback bind', async (t) => {
  t.equal(checkHost('127.0.0.1:15000', loopback), undefined)
  t.equal(checkHost('localhost:15000', loopback), undefined)
  t.equal(checkHost('[::1]:15000', loopback), undefined)
  t.match(checkHost('evil.example:15000', loopback), /DNS rebinding/)
  t.match(checkHost('10.0.0.1:15000', loopback), /not this admin server/)
  t.match(checkHost(undefined, loopback), /missing/)
  t.match(checkHost('', loopback), /missing/)
})

t.test('Host check: exposed binds', async (t) => {
  const named: AccessPolicy = { token: TOKEN, listenHost: 'admin.node-a.internal', port: 15000 }
  t.equal(checkHost('admin.node-a.internal:15000', named), undefined, 'the configured name')
  t.ok(checkHost('evil.example:15000', named))
  const ip: AccessPolicy = { token: TOKEN, listenHost: '10.0.0.5', port: 15000 }
  t.equal(checkHost('10.0.0.5:15000', ip), undefined)
  t.ok(checkHost('10.0.0.6:15000', ip))
  const wildcard: AccessPolicy = { token: TOKEN, listenHost: '0.0.0.0', port: 15000 }
  t.equal(checkHost('10.0.0.5:15000', wildcard), undefined, 'any IP literal names a wildcard bind')
  t.equal(checkHost('[fd00::5]:15000', wildcard), undefined)
  t.ok(checkHost('evil.example', wildcard), 'a DNS name still cannot')
})

t.test('Origin check', async (t) => {
  t.equal(checkOrigin(undefined, undefined, loopback), undefined, 'no Origin: not a browser')
  t.equal(checkOrigin('http://127.0.0.1:15000', 'same-origin', loopback), undefined)
  t.equal(checkOrigin('http://localhost:15000', undefined, loopback), undefined)
  t.equal(checkOrigin('http://[::1]:15000', undefined, loopback), undefined)
  t.ok(checkOrigin('http://localhost:3000', undefined, loopback), 'other port')
  t.ok(checkOrigin('http://127.0.0.1', undefined, loopback), 'default port 80 is another origin')
  t.ok(checkOrigin('https://evil.example', undefined, loopback))
  t.ok(checkOrigin('null', undefined, loopback))
  t.ok(checkOrigin('file://', undefined, loopback))
  t.ok(checkOrigin(undefined, 'cross-site', loopback))
  t.ok(checkOrigin(undefined, 'same-site', loopback))
  t.equal(checkOrigin(undefined, 'none', loopback), undefined, 'typed into the address bar')
})

t.test('token comparison', async (t) => {
  t.ok(tokenMatches(`Bearer ${TOKEN}`, TOKEN))
  t.ok(tokenMatches(`bearer  ${TOKEN} `, TOKEN))
  t.notOk(tokenMatches(undefined, TOKEN))
  t.notOk(tokenMatches(TOKEN, TOKEN))
  t.notOk(tokenMatches(`Basic ${TOKEN}`, TOKEN))
  t.notOk(tokenMatches(`Bearer ${TOKEN}x`, TOKEN))
  t.notOk(tokenMatches('Bearer ', TOKEN))
})

t.test('policy matrix', async (t) => {
  const withToken: AccessPolicy = { ...loopback, token: TOKEN }
  const exposed: AccessPolicy = { token: TOKEN, listenHost: '0.0.0.0', port: 15000 }
  const auth = `Bearer ${TOKEN}`
  // probes: always open
  t.equal(authorize('probe', facts({ host: 'anything' }), exposed), undefined)
  // loopback, no token: reads and writes open to loopback hosts
  t.equal(authorize('read', facts(), loopback), undefined)
  t.equal(authorize('write', facts(), loopback), undefined)
  t.equal(authorize('read', facts({ host: 'evil.example' }), loopback)?.status, 403)
  // loopback with token: writes need it, reads do not
  t.equal(authorize('read', facts(), withToken), undefined)
  t.equal(authorize('write', facts(), withToken)?.status, 401)
  t.equal(authorize('write', facts({ authorization: auth }), withToken), undefined)
  t.equal(authorize('write', facts({ authorization: auth, host: 'evil.example' }), withToken)?.status, 403, 'token does not excuse the Host')
  // exposed: everything but probes needs it
  t.equal(authorize('read', facts({ host: '10.0.0.5:15000' }), exposed)?.status, 401)
  t.equal(authorize('read', facts({ host: '10.0.0.5:15000', authorization: auth }), exposed), undefined)
  t.equal(authorize('write', facts({ host: '10.0.0.5:15000', authorization: auth }), exposed), undefined)
  t.equal(authorize('write', facts({ host: '10.0.0.5:15000', authorization: auth, origin: 'https://evil.example' }), exposed)?.status, 403)
})
