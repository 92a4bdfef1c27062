import t from 'tap'
import http from 'node:http'
import { startUpstream } from '../helpers/upstream.js'
import { oneListener, startSidecar, waitFor } from '../helpers/sidecar.js'

t.test('a client that leaves mid-stream aborts the upstream request', async (t) => {
  let upstreamClosed = false
  let sent = 0
  const up = await startUpstream('stream', (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream' })
    const chunk = Buffer.alloc(64 * 1024, 1)
    const timer = setInterval(() => {
      if (sent > 50 * 1024 * 1024) return clearInterval(timer) // bounded
      res.write(chunk)
      sent += chunk.length
    }, 5)
    res.on('close', () => {
      upstreamClosed = true
      clearInterval(timer)
    })
  })
  const sc = await startSidecar(oneListener([{ match: {}, service: 's' }], { s: { endpoints: [{ address: up.address }] } }))
  t.teardown(async () => {
    await sc.stop()
    await up.close()
  })
  const got = await new Promise<number>((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port: sc.port, path: '/big', agent: false }, (res) => {
      let n = 0
      res.on('data', (c: Buffer) => {
        n += c.length
        if (n >= 256 * 1024) {
          req.destroy()
          resolve(n)
        }
      })
    })
    req.on('error', (e) => (e.message.includes('socket hang up') ? undefined : reject(e)))
  })
  t.ok(got >= 256 * 1024, 'received part of the body')
  t.ok(await waitFor(() => upstreamClosed), 'upstream connection closed')
  const sentAtAbort = sent
  await new Promise((r) => setTimeout(r, 100))
  t.ok(sent - sentAtAbort <= 2 * 64 * 1024, 'upstream stopped sending')
  const ep = sc.sidecar.registry.service('s')!.snapshot.all[0]!
  t.ok(await waitFor(() => ep.inFlight === 0), 'in-flight released')
  t.ok(await waitFor(() => sc.access.some((l) => l.status === 499 && l.code === 'COMMY_ERR_CLIENT_ABORTED')), 'logged as 499')
  t.equal(ep.failures, 0, 'a client abort is not the endpoint\'s failure')
})

t.test('a client that leaves mid-upload aborts the upstream request', async (t) => {
  let upstreamAborted = false
  let received = 0
  const up = await startUpstream('sink', (req, res) => {
    req.on('data', (c: Buffer) => (received += c.length))
    req.on('aborted', () => (upstreamAborted = true))
    res.on('close', () => {
      if (!res.writableFinished) upstreamAborted = true
    })
    req.on('end', () => res.end('done'))
  })
  const sc = await startSidecar(oneListener([{ match: {}, service: 's' }], { s: { endpoints: [{ address: up.address }] } }))
  t.teardown(async () => {
    await sc.stop()
    await up.close()
  })
  const req = http.request({ host: '127.0.0.1', port: sc.port, method: 'POST', path: '/up', agent: false, headers: { 'content-length': String(10 * 1024 * 1024) } })
  req.on('error', () => {})
  req.write(Buffer.alloc(256 * 1024))
  t.ok(await waitFor(() => received > 0), 'upload started reaching the upstream')
  req.destroy()
  t.ok(await waitFor(() => upstreamAborted), 'upstream saw the request aborted')
  const ep = sc.sidecar.registry.service('s')!.snapshot.all[0]!
  t.ok(await waitFor(() => ep.inFlight === 0), 'in-flight released')
  t.ok(await waitFor(() => sc.access.some((l) => l.status === 499)), 'logged as 499')
})
