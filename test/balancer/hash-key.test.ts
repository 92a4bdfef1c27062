import t from 'tap'
import { compileHashKey, cookieValue, hashKeyFromRequest, parseHashKey } from '../../src/balancer/hash-key.js'

const headers = {
  'x-user': 'alice',
  'x-multi': ['first', 'second'],
  'x-empty': '',
  cookie: 'theme=dark; session="abc123" ;  sid=s-9; other=',
}

t.test('header:NAME (case-insensitive name, first value, empty is no key)', async (t) => {
  t.equal(hashKeyFromRequest('header:X-User', headers, '/', undefined), 'alice')
  t.equal(hashKeyFromRequest('header:x-multi', headers, '/', undefined), 'first')
  t.equal(hashKeyFromRequest('header:x-empty', headers, '/', undefined), undefined)
  t.equal(hashKeyFromRequest('header:x-none', headers, '/', undefined), undefined)
})

t.test('cookie:NAME', async (t) => {
  t.equal(hashKeyFromRequest('cookie:session', headers, '/', undefined), 'abc123', 'quotes removed')
  t.equal(hashKeyFromRequest('cookie:sid', headers, '/', undefined), 's-9')
  t.equal(hashKeyFromRequest('cookie:theme', headers, '/', undefined), 'dark')
  t.equal(hashKeyFromRequest('cookie:other', headers, '/', undefined), undefined, 'empty value')
  t.equal(hashKeyFromRequest('cookie:id', headers, '/', undefined), undefined, 'a prefix of another name is not a match')
  t.equal(hashKeyFromRequest('cookie:sid', {}, '/', undefined), undefined, 'no Cookie header')
  t.equal(cookieValue('asid=1; sid=2', 'sid'), '2')
  t.equal(cookieValue('sid=1', 'sid'), '1')
})

t.test('path (without the query string) and client-ip', async (t) => {
  t.equal(hashKeyFromRequest('path', {}, '/users/42?x=1', undefined), '/users/42')
  t.equal(hashKeyFromRequest('path', {}, '/a', undefined), '/a')
  t.equal(hashKeyFromRequest('client-ip', {}, '/', '10.1.2.3'), '10.1.2.3')
  t.equal(hashKeyFromRequest('client-ip', {}, '/', '::ffff:10.1.2.3'), '10.1.2.3', 'IPv4-mapped keys as IPv4')
  t.equal(hashKeyFromRequest('client-ip', {}, '/', '::1'), '::1')
  t.equal(hashKeyFromRequest('client-ip', {}, '/', undefined), undefined)
})

t.test('compiled extractors agree with the one-shot form', async (t) => {
  for (const spec of ['header:x-user', 'header:X-MULTI', 'cookie:session', 'cookie:nope', 'path', 'client-ip']) {
    const f = compileHashKey(spec)
    t.equal(f(headers, '/p?q', '::ffff:1.2.3.4'), hashKeyFromRequest(spec, headers, '/p?q', '::ffff:1.2.3.4'), spec)
  }
  t.same(parseHashKey('header:X-A'), { kind: 'header', name: 'x-a' })
  t.throws(() => parseHashKey('query:x'), TypeError)
  t.throws(() => compileHashKey('header:'), TypeError)
})
