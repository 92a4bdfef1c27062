/**
 * HTTP/2 hardening (limits.http2) against a raw frame writer: rapid reset, PING and SETTINGS
 * floods, a CONTINUATION flood, too many concurrent streams and an oversized header block are
 * each cut off (the stream reset or the session sent GOAWAY and closed, counted as refused
 * `abuse` where the session goes), and commy keeps serving other HTTP/2 and HTTP/1.1 clients.
 * Scaled down (budgets of tens, floods of hundreds of frames): the mechanism, not the size.
 */
import t, { type Test } from 'tap'
import { request, startUpstream, type Upstream } from '../helpers/upstream.js'
import { oneListener, startSidecar, waitFor, type TestSidecar } from '../helpers/sidecar.js'
import { h2close, h2connect, h2request } from '../helpers/h2-client.js'
import { ErrorCode, Flag, FrameType, RawH2, continuation, frame, headerBlock, headers, ping, requestFields, rst, settings } from '../helpers/h2-frames.js'

interface Setup {
  readonly sc: TestSidecar
  readonly up: Upstream
}

async function setup(t: Test, http2: Record<string, number>): Promise<Setup> {
  // the upstream answers after 50 ms: a reset stream has really cost a routed upstream request
  const up = await startUpstream('a', (req, res) => {
    req.resume()
    setTimeout(() => res.writeHead(200, { 'content-type': 'text/plain' }).end('ok'), 50)
  })
  const sc = await startSidecar(oneListener([{ match: {}, service: 'svc' }], { svc: { endpoints: [{ address: up.address }] } }, { limits: { http2 } }))
  t.teardown(async () => {
    await sc.stop()
    await up.close()
  })
  return { sc, up }
}

const abuse = (s: Setup) => s.sc.sidecar.overload().refused.get('outbound')?.abuse ?? 0

/** Other clients are served: an h2c one on a new connection and an HTTP/1.1 one. */
async function stillServes(t: Test, s: Setup): Promise<void> {
  const c = await h2connect(s.sc.port)
  const r = await h2request(c, { ':path': '/after' })
  await h2close(c)
  t.equal(r.status, 200, 'a new HTTP/2 client is served')
  t.equal((await request(s.sc.port, { headers: { host: 'svc' } })).status, 200, 'an HTTP/1.1 client is served')
}

t.test('rapid reset: HEADERS + RST_STREAM over the budget -> GOAWAY ENHANCE_YOUR_CALM, counted', async (t) => {
  const s = await setup(t, { maxResetsPerSecond: 20 })
  const c = await RawH2.connect(s.sc.port)
  t.teardown(() => c.close())
  const burst: Buffer[] = []
  for (let i = 0; i < 300; i++) {
    const id = 2 * i + 1
    burst.push(headers(id, headerBlock(requestFields(`/r${i}`))), rst(id))
  }
  c.write(Buffer.concat(burst))
  t.ok(await c.until(() => c.closed, 5000), 'the session is closed')
  t.equal(c.goaway(), ErrorCode.ENHANCE_YOUR_CALM, 'GOAWAY ENHANCE_YOUR_CALM')
  t.ok(await waitFor(() => abuse(s) === 1), 'counted: refused, reason abuse')
  t.ok(s.up.seen.length < 300, `not every reset stream reached the upstream (${s.up.seen.length} of 300)`)
  await stillServes(t, s)
})

t.test('a client cancelling a few streams is not abuse', async (t) => {
  const s = await setup(t, { maxResetsPerSecond: 20 })
  const c = await RawH2.connect(s.sc.port)
  t.teardown(() => c.close())
  for (let i = 0; i < 10; i++) c.write(Buffer.concat([headers(2 * i + 1, headerBlock(requestFields('/c'))), rst(2 * i + 1)]))
  c.write(headers(101, headerBlock(requestFields('/kept'))))
  t.ok(await c.until(() => c.frames.some((f) => f.type === FrameType.DATA && f.stream === 101 && (f.flags & Flag.END_STREAM) !== 0)), 'the next stream is answered')
  t.equal(c.goaway(), undefined, 'no GOAWAY')
  t.equal(abuse(s), 0)
})

t.test('PING flood -> GOAWAY ENHANCE_YOUR_CALM', async (t) => {
  const s = await setup(t, { maxControlFramesPerSecond: 20 })
  const c = await RawH2.connect(s.sc.port)
  t.teardown(() => c.close())
  c.write(Buffer.concat(Array.from({ length: 500 }, (_, i) => ping(i))))
  t.ok(await c.until(() => c.closed, 5000), 'the session is closed')
  t.equal(c.goaway(), ErrorCode.ENHANCE_YOUR_CALM)
  t.ok(c.frames.filter((f) => f.type === FrameType.PING).length < 500, 'not every PING was answered')
  t.ok(await waitFor(() => abuse(s) === 1), 'counted as abuse')
  await stillServes(t, s)
})

t.test('SETTINGS flood -> GOAWAY ENHANCE_YOUR_CALM', async (t) => {
  const s = await setup(t, { maxControlFramesPerSecond: 20 })
  const c = await RawH2.connect(s.sc.port)
  t.teardown(() => c.close())
  c.write(Buffer.concat(Array.from({ length: 500 }, () => settings([[4, 65535]]))))
  t.ok(await c.until(() => c.closed, 5000), 'the session is closed')
  t.equal(c.goaway(), ErrorCode.ENHANCE_YOUR_CALM)
  t.ok(await waitFor(() => abuse(s) === 1), 'counted as abuse')
  await stillServes(t, s)
})

t.test('CONTINUATION flood: an endless header block is cut off (Node bounds it at 64 KiB until the client acknowledged maxHeaderListSize)', async (t) => {
  const s = await setup(t, { maxHeaderListSize: 4096 })
  const c = await RawH2.connect(s.sc.port)
  t.teardown(() => c.close())
  c.write(headers(1, headerBlock(requestFields('/cont')), 0))
  let sent = 0
  // an endless header block: 1 KiB of fields per CONTINUATION frame, never END_HEADERS
  for (let i = 0; i < 1000 && !c.closed; i++) {
    if (!c.write(continuation(1, headerBlock([[`x-f${i}`, 'v'.repeat(1000)]])))) break
    sent++
    if (i % 50 === 49) await new Promise((r) => setImmediate(r))
  }
  t.ok(
    await c.until(() => c.closed || c.frames.some((f) => (f.type === FrameType.RST_STREAM && f.stream === 1) || f.type === FrameType.GOAWAY), 5000),
    `stream reset or session closed (after ${sent} CONTINUATION frames)`,
  )
  t.notOk(c.frames.some((f) => f.type === FrameType.HEADERS && f.stream === 1), 'never answered as a request')
  t.equal(s.up.seen.length, 0, 'nothing reached the upstream')
  await stillServes(t, s)
})

t.test('an oversized header block is refused; the session serves its next stream', async (t) => {
  const s = await setup(t, { maxHeaderListSize: 4096 })
  const c = await RawH2.connect(s.sc.port)
  t.teardown(() => c.close())
  c.write(headers(1, headerBlock(requestFields('/big', 'svc', 'GET', [['x-big', 'v'.repeat(8000)]]))))
  t.ok(await c.until(() => c.frames.some((f) => f.stream === 1 && (f.type === FrameType.RST_STREAM || f.type === FrameType.HEADERS))), 'stream 1 refused')
  t.ok(await c.until(() => c.frames.some((f) => f.stream === 1 && (f.flags & Flag.END_STREAM) !== 0)), 'answered: 431 (a client that has not acknowledged our SETTINGS is held to them as well)')
  t.equal(s.up.seen.length, 0, 'nothing reached the upstream')
  c.write(headers(3, headerBlock(requestFields('/small'))))
  t.ok(await c.until(() => c.frames.some((f) => f.type === FrameType.DATA && f.stream === 3 && (f.flags & Flag.END_STREAM) !== 0)), 'the next stream is served')
  await stillServes(t, s)
})

t.test('concurrent streams: past maxConcurrentStreams refused (REFUSED_STREAM), the session and others go on', async (t) => {
  const s = await setup(t, { maxConcurrentStreams: 5 })
  const c = await RawH2.connect(s.sc.port)
  t.teardown(() => c.close())
  t.ok(await c.until(() => c.frames.some((f) => f.type === FrameType.SETTINGS && (f.flags & Flag.ACK) === 0)))
  const sent = c.frames.find((f) => f.type === FrameType.SETTINGS && (f.flags & Flag.ACK) === 0)!
  const advertised = new Map<number, number>()
  for (let o = 0; o + 6 <= sent.payload.length; o += 6) advertised.set(sent.payload.readUInt16BE(o), sent.payload.readUInt32BE(o + 2))
  t.equal(advertised.get(3), 5, 'SETTINGS_MAX_CONCURRENT_STREAMS advertised')
  // streams whose body is still to come stay open
  const block = headerBlock(requestFields('/open', 'svc', 'POST'))
  c.write(Buffer.concat(Array.from({ length: 8 }, (_, i) => headers(2 * i + 1, block, Flag.END_HEADERS))))
  t.ok(await c.until(() => c.frames.filter((f) => f.type === FrameType.RST_STREAM).length >= 3), 'streams past 5 refused')
  const refused = c.frames.filter((f) => f.type === FrameType.RST_STREAM)
  t.ok(refused.every((f) => f.stream > 9 && f.payload.readUInt32BE(0) === ErrorCode.REFUSED_STREAM), 'REFUSED_STREAM for streams 11, 13, 15')
  t.equal(s.up.seen.length, 0, 'refused streams never reach the upstream (the open ones wait for their bodies)')
  t.equal(c.goaway(), undefined, 'the session lives on')
  await stillServes(t, s)
})

t.test('invalid frames past maxInvalidFrames close the session', async (t) => {
  const s = await setup(t, { maxInvalidFrames: 5 })
  const c = await RawH2.connect(s.sc.port)
  t.teardown(() => c.close())
  // DATA on streams that were never opened (idle streams) and WINDOW_UPDATE of 0: invalid
  const wu0 = Buffer.alloc(4)
  for (let i = 0; i < 50 && !c.closed; i++) c.write(frame(FrameType.WINDOW_UPDATE, 0, 2 * i + 1, wu0))
  t.ok(await c.until(() => c.closed || c.goaway() !== undefined, 5000), 'session closed')
  t.ok(c.goaway() !== undefined, `GOAWAY (code ${c.goaway()})`)
  t.ok(await waitFor(() => abuse(s) === 1), 'counted as abuse')
  await stillServes(t, s)
})
