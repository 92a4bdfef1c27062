/**
 * The retry loop: backoff and buffering (createRetry), and retries against real upstreams. The
 * rules themselves are tested in test/pipeline/retry-rules.test.ts.
 */
import t from 'tap'
import { createRetry } from '../../src/proxy/retry.js'
import type { RetryPolicyConfig } from '../../src/config/types.js'
import { seededRandom } from '../../src/clock.js'
import { json, request, startUpstream, type Handler } from '../helpers/upstream.js'
import { oneListener, startSidecar } from '../helpers/sidecar.js'

const policy = (over: Partial<RetryPolicyConfig> = {}): RetryPolicyConfig => ({
  attempts: 3,
  perTryTimeoutMs: 0,
  on: ['connect-failure', 'reset', 'timeout', 503],
  methods: ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE'],
  backoffBaseMs: 25,
  backoffMaxMs: 250,
  maxBufferedBody: 65536,
  ...over,
})
t.test('backoff: full jitter under an exponential cap; buffering only for retryable small bodies', async (t) => {
  const r = createRetry(policy(), seededRandom(1))
  for (let i = 1; i <= 6; i++) {
    const cap = Math.min(250, 25 * 2 ** (i - 1))
    for (let k = 0; k < 20; k++) {
      const d = r.backoffMs(i)
      if (d < 0 || d >= cap) t.fail(`backoff ${d} outside [0, ${cap})`)
    }
  }
  t.equal(r.replayLimit('PUT'), 64 * 1024, 'PUT is retried: its body is worth keeping up to maxBufferedBody')
  t.equal(r.replayLimit('POST'), 0, 'POST is not retried by default: nothing to replay')
  t.equal(createRetry(policy({ attempts: 1 }), Math.random).replayLimit('PUT'), 0, 'no retries: nothing to replay')
})

const status503: Handler = (req, res, up) => {
  req.resume()
  req.on('end', () => res.writeHead(503, { 'x-upstream': up.name }).end('busy'))
}

t.test('a 503 is retried on another endpoint; the buffered PUT body is replayed', async (t) => {
  const bad = await startUpstream('bad', status503)
  const good = await startUpstream('good')
  const sc = await startSidecar(
    oneListener([{ match: {}, service: 's', retries: { attempts: 3, on: ['503'], backoff: { base: '1ms', max: '2ms' } } }], {
      s: { endpoints: [{ address: bad.address }, { address: good.address }] },
    }),
  )
  t.teardown(async () => {
    await sc.stop()
    await bad.close()
    await good.close()
  })
  for (let i = 0; i < 4; i++) {
    const r = await request(sc.port, { method: 'PUT', body: 'payload', headers: { 'content-length': '7' } })
    t.equal(r.status, 200)
    t.equal(json(r).upstream, 'good')
    t.equal(json(r).bodyBytes, 7, 'full body on the retry')
  }
  t.ok(bad.seen.length >= 1 && bad.seen.every((s) => s.bodyBytes === 7))
  const tries = sc.access.map((l) => l.attempts)
  t.ok(tries.includes(2), 'a request that met the bad endpoint first took 2 tries')
  t.ok(tries.every((n) => (n as number) <= 2), 'never the same endpoint twice while another exists')

  const post = await request(sc.port, { method: 'POST', body: 'x' })
  const post2 = await request(sc.port, { method: 'POST', body: 'x' })
  t.same([post.status, post2.status].sort(), [200, 503], 'POST is not retried: the 503 reaches the client')
})

t.test('route timeout: 504 and the upstream request is aborted', async (t) => {
  let closed = 0
  const slow = await startUpstream('slow', (_req, res) => {
    res.on('close', () => closed++)
    setTimeout(() => res.end('late'), 3000).unref()
  })
  const sc = await startSidecar(oneListener([{ match: {}, service: 's', timeout: '200ms' }], { s: { endpoints: [{ address: slow.address }] } }))
  t.teardown(async () => {
    await sc.stop()
    await slow.close()
  })
  const started = Date.now()
  const r = await request(sc.port)
  const took = Date.now() - started
  t.equal(r.status, 504)
  t.equal(json(r).code, 'COMMY_ERR_UPSTREAM_TIMEOUT')
  t.ok(took >= 190 && took < 1500, `answered at the timeout (${took} ms)`)
  const until = Date.now() + 2000
  while (closed === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10))
  t.equal(closed, 1, 'upstream saw its request aborted')
  const ep = sc.sidecar.registry.service('s')!.snapshot.all[0]!
  t.equal(ep.inFlight, 0)
})

t.test('per-try timeout moves on to the next endpoint', async (t) => {
  const slow = await startUpstream('slow', (_req, res) => {
    setTimeout(() => res.end('late'), 2000).unref()
  })
  const fast = await startUpstream('fast')
  const sc = await startSidecar(
    oneListener([{ match: {}, service: 's', timeout: '3s', retries: { attempts: 2, perTryTimeout: '150ms', on: ['timeout'] } }], {
      s: { endpoints: [{ address: slow.address }, { address: fast.address }] },
    }),
  )
  t.teardown(async () => {
    await sc.stop()
    await slow.close()
    await fast.close()
  })
  const a = await request(sc.port)
  const b = await request(sc.port)
  t.same([a.status, b.status], [200, 200])
  t.same([json(a).upstream, json(b).upstream], ['fast', 'fast'])
  t.ok(sc.access.some((l) => l.attempts === 2))
})
