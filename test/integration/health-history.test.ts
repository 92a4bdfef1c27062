/**
 * Issue #4 acceptance, history, through a real Runtime: a scripted load with known counts and
 * known upstream latencies lands in the endpoint's 10 s bucket with exact request and error
 * counts, and p50/p90/p99 within the histogram's precision; check results are counted too.
 *
 * Percentile bounds: the history layer times each try from the pipeline to response headers, so
 * each recorded latency lies between the upstream's delay and what the client measured. The k-th
 * smallest recorded value therefore lies between the k-th smallest delay and the k-th smallest
 * client latency, and the reported value (the middle of its bin) within HISTOGRAM_PRECISION of it.
 */
import t from 'tap'
import http from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseConfig } from '../../src/config/load.js'
import { HISTOGRAM_PRECISION } from '../../src/health/histogram.js'
import { Runtime } from '../../src/runtime.js'
import { captureLogs, waitFor } from '../helpers/sidecar.js'
import { startUpstream } from '../helpers/upstream.js'

/** One GET; resolves with the status and the time to response headers (ms). */
function timed(port: number, path: string): Promise<{ status: number; ms: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now()
    const req = http.request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      const ms = performance.now() - t0
      res.resume()
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms }))
    })
    req.setTimeout(10_000, () => req.destroy(new Error('timed out')))
    req.on('error', reject)
    req.end()
  })
}

const kth = (xs: readonly number[], q: number) => [...xs].sort((a, b) => a - b)[Math.max(1, Math.ceil(q * xs.length)) - 1]!

t.test('scripted load: exact counts in the bucket, percentiles within histogram precision, checks counted', async (t) => {
  let checks = 0
  const a = await startUpstream('a', (req, res) => {
    if (req.url === '/health') {
      checks++
      return void res.writeHead(200).end()
    }
    const u = new URL(req.url ?? '/', 'http://x')
    const delay = Number(u.searchParams.get('d') ?? 0)
    const status = Number(u.searchParams.get('s') ?? 200)
    setTimeout(() => res.writeHead(status).end(), delay)
  })
  t.teardown(() => a.close())
  const config = parseConfig(
    JSON.stringify({
      admin: { listen: '127.0.0.1:0' },
      listeners: [{ name: 'out', listen: '127.0.0.1:0', routes: [{ match: { pathPrefix: '/' }, service: 'pay' }] }],
      services: {
        pay: {
          endpoints: [{ address: a.address }],
          breaker: { enabled: false },
          outlierDetection: { enabled: false },
          healthCheck: { http: { path: '/health' }, interval: '50ms', jitter: 0 },
        },
      },
    }),
    'test.yaml',
  )
  const runtime = new Runtime({ config, logs: captureLogs().logs })
  await runtime.start()
  t.teardown(() => runtime.stop())
  const port = runtime.sidecar.address().port
  const ep = runtime.sidecar.registry.service('pay')!.get(a.address)!
  const history = runtime.health.history
  t.equal(history.bucketMs, 10_000, 'default bucket')
  t.ok(await waitFor(() => ep.activeHealth === 'healthy', 5000))

  // 100 requests: 10 errors (500 after 5 ms), 55 at 20 ms, 30 at 80 ms, 5 at 200 ms
  const script: { d: number; s: number }[] = [
    ...Array.from({ length: 10 }, () => ({ d: 5, s: 500 })),
    ...Array.from({ length: 55 }, () => ({ d: 20, s: 200 })),
    ...Array.from({ length: 30 }, () => ({ d: 80, s: 200 })),
    ...Array.from({ length: 5 }, () => ({ d: 200, s: 200 })),
  ]
  // stay inside one bucket: start early in it
  const into = Date.now() % history.bucketMs
  if (into > history.bucketMs - 3_000) await sleep(history.bucketMs - into + 20)
  const bucketStart = Date.now() - (Date.now() % history.bucketMs)

  const queue = script.map((x, i) => ({ ...x, i })).sort((x, y) => (x.i * 7919) % 100 - (y.i * 7919) % 100)
  const client: number[] = []
  const statuses: number[] = []
  const worker = async () => {
    for (let job = queue.shift(); job; job = queue.shift()) {
      const r = await timed(port, `/load?d=${job.d}&s=${job.s}`)
      client.push(r.ms)
      statuses.push(r.status)
    }
  }
  await Promise.all(Array.from({ length: 10 }, worker))
  t.equal(statuses.filter((s) => s === 500).length, 10)
  t.equal(Math.floor(Date.now() / history.bucketMs) * history.bucketMs, bucketStart, 'the load fit in one bucket')

  const h = history.endpointHistory(ep.id)!
  const bucket = h.buckets.find((b) => b.start === bucketStart)!
  t.ok(bucket, 'the bucket of the load')
  t.equal(bucket.requests, 100, 'requests exact')
  t.equal(bucket.errors, 10, 'errors exact')
  t.equal(h.buckets.reduce((n, b) => n + b.requests, 0), 100, 'nothing elsewhere')
  const delays = script.map((x) => x.d)
  for (const [name, q] of [['p50', 0.5], ['p90', 0.9], ['p99', 0.99]] as const) {
    const lo = kth(delays, q) * (1 - HISTOGRAM_PRECISION) - 1
    const hi = kth(client, q) * (1 + HISTOGRAM_PRECISION)
    const v = bucket[name]!
    t.ok(v >= lo && v <= hi, `${name} ${v} ms within [${lo.toFixed(2)}, ${hi.toFixed(2)}]`)
  }
  t.ok(bucket.p50! < 40 && bucket.p90! > 60 && bucket.p90! < 160 && bucket.p99! > 150, 'each percentile in its latency class')

  const seenChecks = checks
  const counted = h.buckets.reduce((n, b) => n + b.checksOk + b.checksFailed, 0)
  t.ok(counted >= 1 && counted <= seenChecks && counted >= seenChecks - 1, `checks counted (${counted} of ${seenChecks} served; one may be in flight)`)
  t.equal(h.buckets.reduce((n, b) => n + b.checksFailed, 0), 0)

  // the service summary the admin API shows
  const summary = runtime.health.summary('pay')!
  t.match(summary.endpoints, [{ id: ep.id, state: 'healthy', requests: 100, errors: 10, errorRate: 0.1 }])
  t.equal(runtime.health.summary('nope'), undefined)
  t.same(history.endpointIds(), [ep.id])
})
