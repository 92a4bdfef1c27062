/** proxy/framing.ts and pipeline/transfer-coding.ts as pure functions (the socket suite is framing.test.ts). */
import t from 'tap'
import { requestRefusal, type RequestHead } from '../../src/proxy/framing.js'
import { isChunked, onlyChunked } from '../../src/pipeline/transfer-coding.js'

const limits = { maxHeaderCount: 4, maxUriLength: 300 }
const head = (rawHeaders: string[], over: Partial<RequestHead> = {}): RequestHead => ({ httpVersionMajor: 1, httpVersionMinor: 1, url: '/', rawHeaders, ...over })
const code = (h: RequestHead, authority?: string) => requestRefusal(h, authority, limits)?.code

t.test('acceptable requests pass', async (t) => {
  for (const host of ['a', 'A.Example.COM:8080', '[::1]:15001', '10.0.0.1', '', 'xn--bcher-kva.example', "a!$&'()*+,;=b"]) {
    t.equal(code(head(['Host', host])), undefined, `Host ${JSON.stringify(host)}`)
  }
  t.equal(code(head(['HOST', 'a', 'Transfer-Encoding', 'Chunked'])), undefined, 'chunked in any case')
  t.equal(code(head([], { httpVersionMinor: 0 })), undefined, 'HTTP/1.0 without Host')
  t.equal(code(head(['Host', 'a', 'x', '1', 'y', '2', 'z', '3'])), undefined, 'exactly maxHeaderCount')
  t.equal(code(head(['Host', 'a'], { url: `/${'a'.repeat(299)}` })), undefined, 'exactly maxUriLength')
  t.equal(code(head(['Host', 'x']), 'payments:8080'), undefined, 'an absolute-form authority')
})

t.test('refusals, by code', async (t) => {
  t.equal(code(head(['Host', 'a', 'x', '1', 'y', '2', 'z', '3', 'w', '4'])), 'COMMY_ERR_HEADERS_TOO_LARGE')
  t.equal(code(head(['Host', 'a'], { url: `/${'a'.repeat(300)}` })), 'COMMY_ERR_URI_TOO_LONG')
  t.equal(code(head(['Host', 'a'], { httpVersionMajor: 2, httpVersionMinor: 0 })), 'COMMY_ERR_HTTP_VERSION')
  t.equal(code(head([])), 'COMMY_ERR_BAD_REQUEST', 'HTTP/1.1 without Host')
  t.equal(code(head(['Host', 'a', 'host', 'a'])), 'COMMY_ERR_BAD_REQUEST', 'two Hosts, even equal')
  for (const bad of ['a b', 'a/b', 'u@a', 'a?x', 'a#x', 'é']) t.equal(code(head(['Host', bad])), 'COMMY_ERR_BAD_REQUEST', `Host ${JSON.stringify(bad)}`)
  t.equal(code(head(['Host', 'a']), 'user:pw@a'), 'COMMY_ERR_BAD_REQUEST', 'userinfo')
  t.equal(code(head(['Host', 'a']), ''), 'COMMY_ERR_BAD_REQUEST', 'an empty authority')
  t.equal(code(head(['Host', 'a', 'Transfer-Encoding', 'gzip, chunked'])), 'COMMY_ERR_TRANSFER_ENCODING')
  t.equal(code(head(['Host', 'a', 'transfer-encoding', 'chunked', 'Transfer-Encoding', 'chunked'])), 'COMMY_ERR_TRANSFER_ENCODING', 'two lines')
  t.equal(code(head(['Host', 'a', 'Transfer-Encoding', 'chunked'], { httpVersionMinor: 0 })), 'COMMY_ERR_BAD_REQUEST', 'HTTP/1.0')
})

t.test('the transfer-coding rule', async (t) => {
  for (const v of ['chunked', 'CHUNKED', 'Chunked']) t.ok(isChunked(v), v)
  for (const v of ['gzip, chunked', 'chunked, chunked', 'gzip', 'identity', 'chunkes', '']) t.notOk(isChunked(v), v)
  t.ok(onlyChunked(['Content-Length', '2']), 'no Transfer-Encoding')
  t.ok(onlyChunked(['TRANSFER-ENCODING', 'chunked']))
  t.notOk(onlyChunked(['Transfer-Encoding', 'gzip']))
  t.notOk(onlyChunked(['Transfer-Encoding', 'chunked', 'transfer-encoding', 'chunked']), 'two lines')
  t.ok(onlyChunked(['Transfer-Encodinx', 'gzip']), 'a different name of the same length')
})
