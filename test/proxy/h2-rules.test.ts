/**
 * The pure parts of the HTTP/2 downstream side: the preface verdict, the HTTP/1.1 translation
 * of a stream's header list, the header list size and the per-session frame budget.
 */
import t from 'tap'
import { H2_PREFACE, prefaceVerdict } from '../../src/proxy/preface.js'
import { translateHeaders } from '../../src/proxy/h2-request.js'
import { FrameBudget, h2ServerOptions, headerListSize } from '../../src/proxy/h2-limits.js'
import { parseConfig } from '../../src/config/load.js'

t.test('preface verdict: decided as soon as a byte differs, HTTP/2 only on all 24 bytes', async (t) => {
  t.equal(prefaceVerdict(Buffer.from('GET / HTTP/1.1\r\n')), 'h1')
  t.equal(prefaceVerdict(Buffer.from('P')), 'more', 'P could be PRI, POST, PUT, PATCH')
  t.equal(prefaceVerdict(Buffer.from('POST / HTTP/1.1\r\n')), 'h1')
  t.equal(prefaceVerdict(Buffer.from('PROPFIND / HTTP/1.1\r\n')), 'h1')
  t.equal(prefaceVerdict(Buffer.from('PRI * HTTP/2.0\r\n')), 'more', 'a preface in pieces waits')
  t.equal(prefaceVerdict(Buffer.from('PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n')), 'h1', 'not the preface: HTTP/1 (its parser refuses it)')
  t.equal(prefaceVerdict(H2_PREFACE), 'h2')
  t.equal(prefaceVerdict(Buffer.concat([H2_PREFACE, Buffer.from([0, 0, 0, 4])])), 'h2', 'frames after the preface')
})

t.test('translation of a stream to HTTP/1.1 fields', async (t) => {
  const raw = [':method', 'POST', ':path', '/x', ':scheme', 'http', ':authority', 'svc:80', 'cookie', 'a=1', 'x-a', '1', 'cookie', 'b=2']
  t.same(translateHeaders(raw, true), ['host', 'svc:80', 'x-a', '1', 'cookie', 'a=1; b=2', 'transfer-encoding', 'chunked'], 'Host first, cookies joined, body chunked')
  t.same(translateHeaders([...raw, 'content-length', '3'], true), ['host', 'svc:80', 'x-a', '1', 'content-length', '3', 'cookie', 'a=1; b=2'], 'a sized body stays sized')
  t.same(translateHeaders([':method', 'GET', ':path', '/', 'host', 'h'], false), ['host', 'h'], 'host field without :authority')
  t.same(translateHeaders([':method', 'GET', ':authority', 'a', 'host', 'b'], false), ['host', 'a'], ':authority wins over host (RFC 9113 §8.3.1)')
  t.same(translateHeaders([':method', 'GET', ':path', '/'], false), [], 'no authority: no Host (framing answers 400 where HTTP/1.1 needs one)')
})

t.test('header list size counts 32 bytes of overhead per field (RFC 9113 §6.5.2)', async (t) => {
  t.equal(headerListSize(['ab', 'cde']), 37)
  t.equal(headerListSize([]), 0)
})

t.test('frame budget: per kind, per one-second window', async (t) => {
  let now = 0
  const b = new FrameBudget({ maxResetsPerSecond: 3, maxControlFramesPerSecond: 2 }, () => now)
  t.same([b.spend('reset'), b.spend('reset'), b.spend('reset'), b.spend('reset')], [false, false, false, true], 'the 4th reset in a second is over')
  t.same([b.spend('control'), b.spend('control'), b.spend('control')], [false, false, true], 'control frames counted apart')
  now = 999
  t.equal(b.spend('reset'), true, 'same window')
  now = 1000
  t.equal(b.spend('reset'), false, 'a new window starts from 0')
})

t.test('server options from limits', async (t) => {
  const c = parseConfig(JSON.stringify({ listeners: [{ name: 'l', listen: '127.0.0.1:0', routes: [] }], services: {}, limits: { maxHeaderCount: 50, http2: { maxConcurrentStreams: 7, maxInvalidFrames: 3 } } }), 'test.yaml')
  const o = h2ServerOptions(c.limits)
  t.equal(o.settings?.maxConcurrentStreams, 7)
  t.equal(o.settings?.maxHeaderListSize, 16_384, 'default')
  t.equal(o.settings?.enablePush, false)
  t.equal(o.maxHeaderListPairs, 55, 'header count + 4 pseudo-headers + 1 (one over: 431 from framing)')
  t.equal(o.maxSessionInvalidFrames, 3)
  t.equal(o.maxSessionRejectedStreams, 100)
})
