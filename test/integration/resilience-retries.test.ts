/**
 * Issue #3 retries end to end, through a real Runtime on loopback: one endpoint of three killed
 * during 10,000 GETs costs the clients nothing; a POST whose body reached a dying endpoint is never
 * replayed (a small buffered PUT is); the retry budget caps retries in a full outage.
 */
import t from 'tap'
import http from 'node:http'
import type { BudgetExhaustedEvent, RetryEvent } from '../../src/resilience/events.js'
import { json, request, startUpstream } from '../helpers/upstream.js'
import { load, startKillable, startRuntime } from '../helpers/runtime.js'

const NO_LAG = { eventLoopLagThreshold: '10s' }
const listener = (routes: unknown[]) => [{ name: 'outbound', listen: '127.0.0.1:0', routes }]

t.test('one of three endpoints killed during 10,000 GETs: zero client-visible failures', async (t) => {
  const ups = await Promise.all(['a', 'b', 'c'].map((n) => startKillable(n)))
  const victim = ups[2]!
  const rt = await startRuntime({
    health: NO_LAG,
    log: { accessLog: false },
    listeners: listener([
      { match: {}, service: 'svc', retries: { attempts: 3, on: ['connect-failure', 'reset', '502', '503', '504'], backoff: { base: '1ms', max: '10ms' } } },
    ]),
    services: { svc: { strategy: 'round-robin', endpoints: ups.map((u) => ({ address: u.address })) } },
  })
  t.teardown(async () => {
    await rt.stop()
    await Promise.all(ups.map((u) => u.close()))
  })
  const retries: RetryEvent[] = []
  rt.runtime.resilience.on({ retry: (e) => retries.push(e) })
  let done = 0
  let seenAtKill = 0
  const result = await load({
    port: rt.port,
    total: 10_000,
    concurrency: 20,
    request: (i) => ({ path: `/item/${i}` }),
    onReply: () => {
      if (++done === 2_000) {
        seenAtKill = victim.seen.length
        void victim.kill()
      }
    },
  })
  t.equal(result.ok, 10_000, 'every request answered 2xx')
  t.equal(result.failed, 0, `no failure reached a client (${JSON.stringify([...result.statuses])}, ${result.errors.map((e) => e.message).join('; ')})`)
  t.ok(seenAtKill > 500, `the victim served its share before (${seenAtKill})`)
  t.ok(victim.seen.length - seenAtKill < 100, `and almost nothing after (${victim.seen.length - seenAtKill} reached it while dying)`)
  t.ok(retries.length > 0, `failed tries were retried elsewhere (${retries.length} retries)`)
  const ep = rt.runtime.sidecar.registry.service('svc')!.get(victim.address)!
  t.notOk(rt.runtime.sidecar.registry.service('svc')!.snapshot.eligible.includes(ep), `the dead endpoint is out of picking (${ep.eligibility(performance.now()).reason})`)
})

t.test('a POST whose body reached a dying endpoint is not replayed; a small PUT body is', async (t) => {
  // 'dies' reads the whole body, then cuts the connection without answering
  const dies = await startUpstream('dies', (req) => {
    req.resume()
    req.on('end', () => req.socket.destroy())
  })
  const ups = [dies, await startUpstream('b'), await startUpstream('c')]
  const rt = await startRuntime({
    health: NO_LAG,
    listeners: listener([{ match: {}, service: 'svc', retries: { attempts: 3, on: ['connect-failure', 'reset', '502', '503'], backoff: { base: '1ms', max: '2ms' } } }]),
    services: { svc: { strategy: 'round-robin', endpoints: ups.map((u) => ({ address: u.address })), outlierDetection: { enabled: false } } },
  })
  t.teardown(async () => {
    await rt.stop()
    await Promise.all(ups.map((u) => u.close()))
  })
  const receivedBy = (id: string) => ups.filter((u) => u.seen.some((s) => s.headers['x-test-id'] === id)).map((u) => u.name)

  let onDying = 0
  for (let i = 0; i < 6; i++) {
    const id = `post-${i}`
    const r = await request(rt.port, { method: 'POST', path: '/orders', body: '{"amount":42}', headers: { 'x-test-id': id, 'content-type': 'application/json' } })
    const got = receivedBy(id)
    t.equal(got.length, 1, `${id}: exactly one upstream received it (${got.join(', ')})`)
    if (got[0] === 'dies') {
      onDying++
      t.equal(r.status, 502, `${id}: the client gets 502`)
      t.equal(json(r).code, 'COMMY_ERR_UPSTREAM_RESET')
      t.equal(dies.seen.find((s) => s.headers['x-test-id'] === id)!.bodyBytes, 13, 'after the endpoint read the whole body')
    } else t.equal(r.status, 200)
  }
  t.equal(onDying, 2, 'round robin sent two of the six POSTs to the dying endpoint')

  let replayed = 0
  for (let i = 0; i < 3; i++) {
    const id = `put-${i}`
    const r = await request(rt.port, { method: 'PUT', path: '/orders/1', body: 'small', headers: { 'x-test-id': id, 'content-length': '5' } })
    t.equal(r.status, 200, `${id}: answered`)
    const got = receivedBy(id)
    if (got.includes('dies')) {
      replayed++
      t.equal(got.length, 2, `${id}: met the dying endpoint, replayed once on another (${got.join(', ')})`)
      t.ok(ups.every((u) => (u.seen.find((s) => s.headers['x-test-id'] === id)?.bodyBytes ?? 5) === 5), 'the whole body each time')
    } else t.equal(got.length, 1, `${id}: one upstream`)
  }
  t.ok(replayed >= 1, `a small PUT body (buffered) was replayed (${replayed} of 3 met the dying endpoint)`)
})

t.test('the retry budget caps retries in a full outage: retries/requests stays near ratio + floor', async (t) => {
  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    req.resume()
    res.writeHead(503).end('down')
  }
  const ups = await Promise.all(['a', 'b', 'c'].map((n) => startUpstream(n, handler)))
  const ratio = 0.2
  const minPerSecond = 5 // a floor of 50 retries per 10 s window
  const rt = await startRuntime({
    health: NO_LAG,
    log: { accessLog: false },
    listeners: listener([{ match: {}, service: 'svc', retries: { attempts: 3, on: ['503'], backoff: { base: '1ms', max: '2ms' } } }]),
    services: {
      svc: {
        endpoints: ups.map((u) => ({ address: u.address })),
        // keep every endpoint in picking so that only the budget limits retries
        breaker: { enabled: false },
        outlierDetection: { enabled: false },
        retryBudget: { ratio, minPerSecond },
      },
    },
  })
  t.teardown(async () => {
    await rt.stop()
    await Promise.all(ups.map((u) => u.close()))
  })
  const refused: BudgetExhaustedEvent[] = []
  rt.runtime.resilience.on({ budgetExhausted: (e) => refused.push(e) })
  const requests = 1_500
  const result = await load({ port: rt.port, total: requests, concurrency: 20 })
  t.same([...result.statuses], [[503, requests]], 'the outage reaches the clients as the upstreams\' 503')
  const upstreamHits = ups.reduce((n, u) => n + u.seen.length, 0)
  const retries = upstreamHits - requests
  const measured = retries / requests
  const bound = ratio + (minPerSecond * 10) / requests
  t.ok(measured <= bound + 0.005, `retries/requests = ${measured.toFixed(3)} <= ratio + floor = ${bound.toFixed(3)} (without a budget: 2.0)`)
  t.ok(measured >= ratio * 0.9, `and the budget was used (${measured.toFixed(3)})`)
  const stats = rt.runtime.resilience.budget('svc')!
  t.equal(stats.totalRequests, requests)
  t.equal(stats.totalRetries, retries, 'the budget counted exactly the retries the upstreams saw')
  t.ok(stats.exhausted > 1000, `refused retries counted (${stats.exhausted})`)
  t.equal(refused.length, stats.exhausted, 'each refusal is an event')
  const warn = rt.lines.filter((l) => l.msg === 'retry budget exhausted: failed requests are no longer retried')
  t.equal(warn.length, 1, 'logged once, at warn')
  t.equal(warn[0]!.level, 40)
})
