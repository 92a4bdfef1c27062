/**
 * Slow clients do not starve a service (issue 10, item 4): request bodies are buffered before an
 * endpoint is picked, so clients trickling their bodies hold no upstream connection, and the
 * minimum body rate cuts them after its grace. The full-size figure is bench/slow-clients.ts.
 */
import t from 'tap'
import { request, startUpstream } from '../helpers/upstream.js'
import { oneListener, startSidecar } from '../helpers/sidecar.js'
import { rawClient, statusOf } from '../helpers/raw-client.js'

t.test('slow clients do not starve a service: 20 trickling bodies, 4 upstream connections, normal requests answer in < 1 s; the tricklers are cut by the minimum rate', async (t) => {
  const up = await startUpstream('a')
  const sc = await startSidecar(
    oneListener([{ match: {}, service: 's' }], { s: { endpoints: [{ address: up.address }], upstream: { connections: 4 } } }, { limits: { minRequestBodyRate: 240 } }),
  )
  t.teardown(async () => {
    await sc.stop()
    await up.close()
  })
  const tricklers = Array.from({ length: 20 }, () =>
    rawClient(sc.port, 'POST /slow HTTP/1.1\r\nHost: s\r\nContent-Length: 1000\r\n\r\n', { trickle: 'x'.repeat(1000), everyMs: 200, giveUpMs: 9000 }),
  )
  await new Promise((r) => setTimeout(r, 300)) // the tricklers have connected and started (absence of progress is what is measured)
  const latencies: number[] = []
  for (let i = 0; i < 5; i++) {
    const started = Date.now()
    const r = await request(sc.port, { path: `/normal/${i}`, timeoutMs: 3000 }).catch(() => ({ status: 0 }))
    latencies.push(Date.now() - started)
    t.equal(r.status, 200, `normal request ${i}`)
  }
  t.ok(Math.max(...latencies) < 1000, `normal requests answered in ${latencies.join(', ')} ms`)
  t.equal(up.seen.filter((s) => s.url === '/slow').length, 0, 'no trickling body holds an upstream connection')
  const results = await Promise.all(tricklers)
  const cut = results.filter((r) => statusOf(r.text) === 408 && /minRequestBodyRate/.test(r.text))
  t.equal(cut.length, 20, 'every trickler was cut with 408 for its rate')
  for (const r of results) t.ok(r.closedAfterMs >= 4900 && r.closedAfterMs < 8000, `cut after ${r.closedAfterMs} ms (5 s grace)`)
})
