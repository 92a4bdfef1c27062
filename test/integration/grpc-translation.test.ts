/**
 * Issue 12 acceptance, translation both ways with bodies and trailers: an h2c client to an
 * `http1` service (the endpoint's chunked trailers reach the HTTP/2 stream) and an HTTP/1.1
 * client to an `http2` service (request body and trailers up, response body and trailers down).
 * (test/transport/h2-upstream.test.ts and test/proxy/h2-listener.test.ts cover the header rules.)
 */
import http from 'node:http'
import http2 from 'node:http2'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { startRuntime } from '../helpers/runtime.js'

const NO_LAG = { eventLoopLagThreshold: '10s' }
const route = [{ name: 'outbound', listen: '127.0.0.1:0', routes: [{ match: {}, service: 'svc' }] }]

t.test('h2c client -> http1 service: body up, body and trailers down', async (t) => {
  const h1 = http.createServer((req, res) => {
    let n = 0
    req.on('data', (c: Buffer) => (n += c.length))
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/plain', trailer: 'x-checksum' })
      res.write(`got ${n}`)
      res.addTrailers({ 'x-checksum': String(n) })
      res.end()
    })
  })
  await new Promise<void>((r) => h1.listen(0, '127.0.0.1', r))
  const rt = await startRuntime({ health: NO_LAG, listeners: route, services: { svc: { endpoints: [{ address: `127.0.0.1:${(h1.address() as AddressInfo).port}` }] } } })
  const session = http2.connect(`http://127.0.0.1:${rt.port}`)
  t.teardown(async () => {
    session.close()
    await rt.stop()
    await new Promise((r) => h1.close(r))
  })
  const reply = await new Promise<{ status: number; body: string; trailers: http2.IncomingHttpHeaders }>((resolve, reject) => {
    const s = session.request({ ':method': 'POST', ':path': '/up', 'content-type': 'text/plain' })
    let status = 0
    let body = ''
    let trailers: http2.IncomingHttpHeaders = {}
    s.on('response', (h) => (status = Number(h[':status'])))
    s.on('trailers', (tr: http2.IncomingHttpHeaders) => (trailers = tr))
    s.setEncoding('utf8')
    s.on('data', (c: string) => (body += c))
    s.on('end', () => resolve({ status, body, trailers }))
    s.on('error', reject)
    s.end('x'.repeat(70_000))
  })
  t.equal(reply.status, 200)
  t.equal(reply.body, 'got 70000', 'the whole body went up and the answer came down')
  t.equal(reply.trailers['x-checksum'], '70000', "the HTTP/1.1 endpoint's trailer reached the HTTP/2 stream")
  t.equal(rt.access.at(-1)?.protocol, 'HTTP/2')
})

t.test('HTTP/1.1 client -> http2 service: body and trailers up, body and trailers down', async (t) => {
  const h2 = http2.createServer()
  h2.on('stream', (stream) => {
    let n = 0
    stream.on('data', (c: Buffer) => (n += c.length))
    stream.on('trailers', (tr: http2.IncomingHttpHeaders) => (stream as unknown as { upTrailer?: string }).upTrailer = String(tr['x-sent'] ?? ''))
    stream.on('end', () => {
      stream.respond({ ':status': 200, 'content-type': 'text/plain' }, { waitForTrailers: true })
      stream.on('wantTrailers', () => stream.sendTrailers({ 'x-checksum': String(n), 'x-up-trailer': (stream as unknown as { upTrailer?: string }).upTrailer ?? '' }))
      stream.end(`got ${n}`)
    })
  })
  await new Promise<void>((r) => h2.listen(0, '127.0.0.1', r))
  const rt = await startRuntime({ health: NO_LAG, listeners: route, services: { svc: { protocol: 'http2', endpoints: [{ address: `127.0.0.1:${(h2.address() as AddressInfo).port}` }] } } })
  t.teardown(async () => {
    await rt.stop()
    await new Promise((r) => h2.close(r))
  })
  const reply = await new Promise<{ status: number; body: string; trailers: NodeJS.Dict<string> }>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: rt.port, method: 'POST', path: '/up', agent: false, headers: { 'transfer-encoding': 'chunked', trailer: 'x-sent' } }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => (body += c))
      res.on('end', () => resolve({ status: res.statusCode!, body, trailers: res.trailers }))
    })
    req.on('error', reject)
    req.write('y'.repeat(70_000))
    req.addTrailers({ 'x-sent': 'yes' })
    req.end()
  })
  t.equal(reply.status, 200)
  t.equal(reply.body, 'got 70000')
  t.equal(reply.trailers['x-checksum'], '70000', "the HTTP/2 endpoint's trailer reached the HTTP/1.1 client (chunked)")
  t.equal(reply.trailers['x-up-trailer'], 'yes', "the client's request trailer reached the HTTP/2 endpoint")
  t.equal(rt.access.at(-1)?.protocol, 'HTTP/1.1')
})
