/**
 * Issue 12 acceptance, streaming through commy with grpc-js on both sides: a bidirectional echo
 * of 1,000 messages (ping-pong: the client waits for each echo, so commy must not hold the
 * request body); a 100 MB server stream with commy's RSS growth measured and bounded
 * (backpressure both ways); a client cancel (RST_STREAM) cancels the upstream stream; Unix socket
 * endpoints.
 */
import t, { type Test } from 'tap'
import { join } from 'node:path'
import { echoClient, grpc, startGrpcServer, unary } from '../helpers/grpc.js'
import { startRuntime, until } from '../helpers/runtime.js'
import { removeTempDir, tempDir } from '../helpers/temp.js'

const NO_LAG = { eventLoopLagThreshold: '10s' }

async function through(t: Test, address: string, route: Record<string, unknown> = {}) {
  const rt = await startRuntime({
    health: NO_LAG,
    listeners: [{ name: 'outbound', listen: '127.0.0.1:0', routes: [{ match: { grpc: { service: 'test.v1.Echo' } }, service: 'echo', ...route }] }],
    services: { echo: { protocol: 'http2', endpoints: [{ address }] } },
  })
  const client = echoClient(`127.0.0.1:${rt.port}`)
  t.teardown(async () => {
    client.close()
    await rt.stop()
  })
  return { rt, client }
}

t.test('bidirectional echo of 1,000 messages, ping-pong', async (t) => {
  const server = await startGrpcServer('echo')
  t.teardown(() => server.stop())
  const { client } = await through(t, server.address)
  const call = client.Chat()
  let got = 0
  let mismatched = 0
  await new Promise<void>((resolve, reject) => {
    call.on('data', (m: Buffer) => {
      if (m.toString() !== `m${got}`) mismatched++
      got++
      if (got < 1000) call.write(Buffer.from(`m${got}`))
      else call.end()
    })
    call.on('end', resolve)
    call.on('error', reject)
    call.write(Buffer.from('m0'))
  })
  t.equal(got, 1000, '1,000 echoes')
  t.equal(mismatched, 0, 'in order, unchanged')
})

t.test('100 MB server stream: commy RSS growth bounded', async (t) => {
  const server = await startGrpcServer('big')
  t.teardown(() => server.stop())
  const { client, rt } = await through(t, server.address, { timeout: '0s' })
  const total = 100 * 1024 * 1024
  global.gc?.()
  const rss0 = process.memoryUsage().rss
  let peak = rss0
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20)
  const t0 = performance.now()
  let received = 0
  await new Promise<void>((resolve, reject) => {
    const call = client.Stream(Buffer.from(String(total)))
    call.on('data', (m: Buffer) => {
      received += m.length
    })
    call.on('end', resolve)
    call.on('error', reject)
  })
  clearInterval(sampler)
  const secs = (performance.now() - t0) / 1000
  const growthMb = (peak - rss0) / 1024 / 1024
  t.equal(received, total, '100 MB received')
  // the test process holds server, commy and client: the growth bounds all three together
  t.ok(growthMb < 64, `RSS grew ${growthMb.toFixed(1)} MB at most (${(total / 1024 / 1024 / secs).toFixed(0)} MB/s) for 100 MB streamed`)
  t.comment(JSON.stringify({ streamedMb: 100, rssGrowthMb: Math.round(growthMb * 10) / 10, seconds: Math.round(secs * 100) / 100 }))
  t.ok(await until(() => rt.access.some((a) => a.path === '/test.v1.Echo/Stream' && a.grpcStatus === 0), 2000), 'the stream ended OK (grpcStatus 0 from the trailers)')
})

t.test('a client cancel (RST_STREAM) cancels the upstream stream', async (t) => {
  const server = await startGrpcServer('echo')
  t.teardown(() => server.stop())
  const { client, rt } = await through(t, server.address, { timeout: '0s' })
  let upstreamCancelled = false
  const call = client.Chat()
  call.on('error', () => {})
  await new Promise<void>((resolve) => {
    call.once('data', () => resolve())
    call.write(Buffer.from('hello'))
  })
  // the server's side of the call: its 'cancelled' event fires when commy resets the upstream stream
  server.onChat = (c) => c.on('cancelled', () => (upstreamCancelled = true))
  const call2 = client.Chat()
  await new Promise<void>((resolve) => {
    call2.once('data', () => resolve())
    call2.write(Buffer.from('hello'))
  })
  call2.on('error', () => {})
  call2.cancel()
  t.ok(await until(() => upstreamCancelled, 3000), 'the server saw the call cancelled')
  t.ok(await until(() => rt.access.some((a) => a.status === 499), 2000), 'access log: 499, the client left')
  call.end()
})

t.test('Unix socket endpoints', async (t) => {
  const dir = tempDir('commy-grpc-')
  t.teardown(() => removeTempDir(dir))
  const server = await startGrpcServer('uds', { kind: 'ok' }, join(dir, 'echo.sock'))
  t.teardown(() => server.stop())
  const { client } = await through(t, server.address)
  const r = await unary(client, 'over a socket')
  t.equal(r.code, grpc.status.OK)
  t.equal(r.body, 'uds:over a socket')
})
