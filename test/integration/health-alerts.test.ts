/**
 * Issue #4 acceptance, alerts, through a real Runtime: an error-rate rule over proxied traffic
 * fires once and resolves once, POSTed to a real webhook receiver and logged at warn; a webhook
 * that accepts connections and never answers does not slow proxied requests, nor the evaluation,
 * nor stopping the runtime.
 *
 * The evaluator's own timer runs every 5 s; the test also calls `evaluate()` itself many times
 * (more evaluations can only make a flapping alert show).
 */
import t, { type Test } from 'tap'
import http from 'node:http'
import net, { type AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseConfig } from '../../src/config/load.js'
import type { Alert } from '../../src/health/alerts.js'
import { Runtime } from '../../src/runtime.js'
import { captureLogs, waitFor } from '../helpers/sidecar.js'
import { request, startUpstream } from '../helpers/upstream.js'

async function startRuntime(t: Test, alerts: Record<string, unknown>, upstream: string) {
  const config = parseConfig(
    JSON.stringify({
      node: { name: 'node-a' },
      admin: { listen: '127.0.0.1:0' },
      listeners: [{ name: 'out', listen: '127.0.0.1:0', routes: [{ match: { pathPrefix: '/' }, service: 'pay' }] }],
      services: { pay: { endpoints: [{ address: upstream }], breaker: { enabled: false }, outlierDetection: { enabled: false } } },
      health: { history: { bucket: '1s', retention: '1m' } },
      alerts,
    }),
    'test.yaml',
  )
  const { logs, lines } = captureLogs()
  const runtime = new Runtime({ config, logs })
  await runtime.start()
  t.teardown(() => runtime.stop())
  return { runtime, lines, port: runtime.sidecar.address().port }
}

async function send(port: number, n: number, path: string): Promise<void> {
  await Promise.all(Array.from({ length: n }, () => request(port, { path })))
}

t.test('error-rate rule: fires once and resolves once, delivered to a real webhook and logged', async (t) => {
  const app = await startUpstream('app', (req, res) => void res.writeHead(req.url === '/fail' ? 500 : 200).end())
  const got: Alert[] = []
  const hook = http.createServer((req, res) => {
    let body = ''
    req.on('data', (c: Buffer) => (body += c.toString()))
    req.on('end', () => {
      got.push(JSON.parse(body) as Alert)
      res.writeHead(204).end()
    })
  })
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r))
  t.teardown(() => Promise.all([app.close(), new Promise<void>((r) => (hook.close(() => r()), hook.closeAllConnections()))]))
  const url = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hooks/commy`
  const { runtime, lines, port } = await startRuntime(
    t,
    {
      rules: [{ name: 'pay-errors', when: 'error-rate', above: '20%', for: '3s', service: 'pay', minRequests: 10 }],
      webhooks: [{ url, timeout: '2s', retries: 1 }],
    },
    app.address,
  )
  const alerts = runtime.health.alerts
  const events: Alert[] = []
  runtime.health.on({ alert: (a) => void events.push(a) })

  await send(port, 20, '/ok')
  alerts.evaluate()
  t.same(alerts.recent(), [], 'healthy traffic: no alert')

  // errors: 15 failures among 20 requests, evaluated again and again while more fail
  await send(port, 15, '/fail')
  for (let i = 0; i < 5; i++) {
    alerts.evaluate()
    await send(port, 2, '/fail')
  }
  t.equal(alerts.firing().length, 1, 'firing')
  t.match(alerts.firing()[0], { name: 'pay-errors', rule: 'error-rate', service: 'pay', state: 'firing', severity: 'warning', threshold: 0.2, node: 'node-a' })
  t.ok(alerts.firing()[0]!.value > 0.2)

  // recovery: good traffic until the rate is at most 80 % of the threshold (or the errors leave the window)
  let resolved = false
  for (let i = 0; i < 60 && !resolved; i++) {
    await send(port, 10, '/ok')
    alerts.evaluate()
    resolved = alerts.firing().length === 0
    if (!resolved) await sleep(50)
  }
  t.ok(resolved, 'resolved')
  for (let i = 0; i < 5; i++) {
    await send(port, 5, '/ok')
    alerts.evaluate()
  }
  t.ok(await waitFor(() => got.length >= 2, 5000), 'webhook received both')
  await sleep(100)
  t.same(got.map((a) => [a.name, a.state]), [['pay-errors', 'firing'], ['pay-errors', 'resolved']], 'one firing, one resolved POST')
  t.same(events.map((a) => a.state), ['firing', 'resolved'], 'one of each to listeners')
  t.match(got[1], { rule: 'error-rate', service: 'pay', node: 'node-a', threshold: 0.2 })
  t.equal(got[1]!.startedAt, got[0]!.startedAt)
  t.ok(got[1]!.resolvedAt! >= got[1]!.startedAt)
  t.ok(got[1]!.value <= 0.16 || /requests/.test(got[1]!.summary), 'resolved at or below 80 % of the threshold (or too few requests)')
  t.same(alerts.recent().map((a) => a.state), ['resolved'], 'the resolved entry replaced the firing one')
  t.equal(lines.filter((l) => l.level === 40 && String(l.msg).startsWith('alert firing: pay-errors')).length, 1, 'logged once at warn')
  t.same(runtime.health.webhooks.stats(), { sent: 2, failed: 0, pending: 0 })
})

t.test('a webhook that never answers does not slow proxied requests, evaluation or stop', async (t) => {
  const app = await startUpstream('app', (req, res) => void res.writeHead(req.url === '/fail' ? 500 : 200).end())
  const held = new Set<net.Socket>()
  const hang = net.createServer((s) => {
    held.add(s)
    s.on('close', () => held.delete(s))
    s.resume() // read the request, answer nothing
  })
  await new Promise<void>((r) => hang.listen(0, '127.0.0.1', r))
  t.teardown(async () => {
    for (const s of held) s.destroy()
    await Promise.all([app.close(), new Promise<void>((r) => hang.close(() => r()))])
  })
  const url = `http://127.0.0.1:${(hang.address() as AddressInfo).port}/hook`
  // six rules on the same condition: six alerts, more than the four POSTs allowed in flight
  const rules = Array.from({ length: 6 }, (_, i) => ({ name: `errors-${i}`, when: 'error-rate', above: '20%', for: '10s', minRequests: 5 }))
  const { runtime, port } = await startRuntime(t, { rules, webhooks: [{ url, timeout: '30s', retries: 3 }] }, app.address)

  const latencies = async (n: number) => {
    const out: number[] = []
    for (let i = 0; i < n; i++) {
      const t0 = performance.now()
      const r = await request(port, { path: '/ok' })
      out.push(performance.now() - t0)
      if (r.status !== 200) throw new Error(`status ${r.status}`)
    }
    return out.sort((a, b) => a - b)
  }
  const before = await latencies(60)

  await send(port, 20, '/fail')
  const t0 = performance.now()
  runtime.health.alerts.evaluate()
  const evalMs = performance.now() - t0
  t.equal(runtime.health.alerts.firing().length, 6, 'six alerts firing')
  t.ok(evalMs < 50, `evaluation returned at once (${evalMs.toFixed(2)} ms) with six POSTs to a hanging webhook`)
  t.ok(await waitFor(() => held.size >= 4, 5000), `the webhook holds ${held.size} connections`)
  t.equal(runtime.health.webhooks.pending(), 6, 'four in flight, two queued')

  const during = await latencies(60)
  const med = (xs: number[]) => xs[Math.floor(xs.length / 2)]!
  const p95 = (xs: number[]) => xs[Math.floor(xs.length * 0.95)]!
  t.comment(`proxied latency ms: before median ${med(before).toFixed(2)} p95 ${p95(before).toFixed(2)}; during median ${med(during).toFixed(2)} p95 ${p95(during).toFixed(2)} max ${during.at(-1)!.toFixed(2)}`)
  t.ok(med(during) <= med(before) * 2 + 2, 'median latency unchanged while the webhook hangs')
  t.ok(during.at(-1)! < 1_000, 'no proxied request waited on the webhook')
  t.ok(held.size >= 4, 'the webhook still hangs')

  const s0 = performance.now()
  await runtime.stop()
  t.ok(performance.now() - s0 < 2_000, 'stop does not wait for the hanging webhook')
  t.ok(await waitFor(() => held.size === 0, 2000), 'the webhook connections were closed')
})
