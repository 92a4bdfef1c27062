import t from 'tap'
import net from 'node:net'
import { errors as undiciErrors } from 'undici'
import { fromUndiciError, type ErrorContext } from '../../src/transport/undici-errors.js'
import {
  BadRequestError,
  ClientAbortedError,
  UpstreamConnectError,
  UpstreamProtocolError,
  UpstreamResetError,
  UpstreamTimeoutError,
} from '../../src/errors.js'
import { UndiciTransport } from '../../src/transport/undici.js'
import { Endpoint } from '../../src/endpoint/endpoint.js'
import type { Attempt, Cancellable, UpstreamRequest } from '../../src/pipeline/pipeline.js'
import { closedPort, startUpstream } from '../helpers/upstream.js'

const ctx = (over: Partial<ErrorContext> = {}): ErrorContext => ({ endpoint: '127.0.0.1:1', connected: true, responseStarted: false, headersReceived: false, bodyBytesSent: 0, timeoutMs: 100, ...over })
const withCode = (code: string, extra: Record<string, unknown> = {}) => Object.assign(new Error('whatever the message says'), { code, ...extra })

t.test('undici and socket errors map to typed errors by code, keeping the cause', async (t) => {
  const refused = withCode('ECONNREFUSED')
  const c = fromUndiciError(refused, ctx({ connected: false }))
  t.type(c, UpstreamConnectError)
  t.equal(c.cause, refused)
  t.type(fromUndiciError(new undiciErrors.ConnectTimeoutError(), ctx({ connected: false })), UpstreamConnectError)
  t.type(fromUndiciError(new undiciErrors.HeadersTimeoutError(), ctx()), UpstreamTimeoutError)
  t.type(fromUndiciError(new undiciErrors.BodyTimeoutError(), ctx()), UpstreamTimeoutError)
  t.type(fromUndiciError(new undiciErrors.ResponseContentLengthMismatchError(), ctx()), UpstreamProtocolError)
  t.type(fromUndiciError(withCode('HPE_INVALID_CONSTANT'), ctx()), UpstreamProtocolError)
  t.type(fromUndiciError(new undiciErrors.RequestContentLengthMismatchError(), ctx()), BadRequestError)
  t.type(fromUndiciError(new undiciErrors.RequestAbortedError(), ctx()), ClientAbortedError)
  const mine = new UpstreamTimeoutError('x', 5)
  t.equal(fromUndiciError(mine, ctx()), mine, 'our own abort reason passes through')
})

t.test('resets: before write only when nothing can have reached the endpoint', async (t) => {
  const closed = () => new undiciErrors.SocketError('other side closed', { bytesRead: 120 } as never)
  const notConnected = fromUndiciError(new undiciErrors.ClientClosedError(), ctx({ connected: false })) as UpstreamResetError
  t.equal(notConnected.stage, 'unwritten', 'never handed to a connection')
  const race = fromUndiciError(closed(), ctx()) as UpstreamResetError
  t.type(race, UpstreamResetError)
  t.equal(race.stage, 'idle-race', 'reused connection closed before any response byte: keep-alive race')
  t.equal((fromUndiciError(closed(), ctx({ responseStarted: true, headersReceived: true })) as UpstreamResetError).stage, 'written')
  t.equal((fromUndiciError(closed(), ctx({ bodyBytesSent: 10 })) as UpstreamResetError).stage, 'written')
  const fresh = new undiciErrors.SocketError('other side closed', { bytesRead: 0 } as never)
  t.equal((fromUndiciError(fresh, ctx()) as UpstreamResetError).stage, 'written', 'a fresh connection that died: the endpoint may have seen it')
  t.equal((fromUndiciError(withCode('ECONNRESET'), ctx()) as UpstreamResetError).stage, 'written')
})

function attempt(ep: Endpoint, request: Partial<UpstreamRequest> = {}): Attempt & { canceller?: Cancellable } {
  const a = {
    endpoint: ep,
    request: { method: 'GET', path: '/', headers: ['host', 'x'], body: null, requestId: 'r', service: ep.service, ...request },
    try: 1,
    timeoutMs: 0,
    canceller: undefined as Cancellable | undefined,
    get signal(): AbortSignal {
      return new AbortController().signal
    },
    setCanceller(c: Cancellable | undefined) {
      a.canceller = c
    },
  }
  return a
}

const endpoint = (port: number) => new Endpoint('svc', { host: '127.0.0.1', port, weight: 1, zone: undefined, tags: [] }, 'static', 1000)
const settings = { connections: 4, connectTimeoutMs: 1000, keepAliveTimeoutMs: 1000 }

t.test('transport: one pool per endpoint, streams the body, releases pools', async (t) => {
  const up = await startUpstream('u', (_req, res) => {
    res.writeHead(201, { 'x-a': '1' })
    res.write('hello ')
    res.end('world')
  })
  const tr = new UndiciTransport({ upstreamOf: () => settings })
  t.teardown(async () => {
    await tr.destroy()
    await up.close()
  })
  const ep = endpoint(up.port)
  const res = await tr.send(attempt(ep))
  t.equal(res.status, 201)
  t.equal(res.endpoint, ep)
  t.ok(res.headers.includes('x-a'))
  const body = await new Promise<string>((resolve, reject) => {
    let s = ''
    res.body.pipe({
      onData: (c) => ((s += c.toString()), true),
      onEnd: (last) => resolve(s + (last?.toString() ?? '')),
      onError: reject,
    })
  })
  t.equal(body, 'hello world')
  let doneErr: unknown = 'not called'
  res.body.onDone((e) => (doneErr = e))
  t.equal(doneErr, undefined, 'onDone after the end runs at once, without error')
  t.equal(tr.poolCount, 1)
  await tr.send(attempt(ep)).then((r) => r.body.destroy())
  t.equal(tr.poolCount, 1, 'pool reused')
  await tr.release(ep)
  t.equal(tr.poolCount, 0, 'released')
})

t.test('transport: connect failure rejects with UpstreamConnectError; cancel before headers rejects with the reason', async (t) => {
  const tr = new UndiciTransport({ upstreamOf: () => settings })
  const sockets: net.Socket[] = []
  const hang = net.createServer((s) => {
    sockets.push(s)
    s.on('error', () => {})
  })
  await new Promise<void>((r) => hang.listen(0, '127.0.0.1', r))
  t.teardown(async () => {
    await tr.destroy()
    for (const s of sockets) s.destroy()
    await new Promise((r) => hang.close(r))
  })
  await t.rejects(tr.send(attempt(endpoint(await closedPort()))), UpstreamConnectError)

  const a = attempt(endpoint((hang.address() as net.AddressInfo).port))
  const p = tr.send(a)
  setTimeout(() => a.canceller?.cancel(new ClientAbortedError()), 50)
  await t.rejects(p, ClientAbortedError)
})
