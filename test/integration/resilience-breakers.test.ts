/**
 * Issue #3 end to end, through a real Runtime on loopback: circuit breakers (open within the volume
 * threshold, exactly one half-open trial, back in rotation), panic mode, the per-service
 * concurrency limit, explainable routing, and reloads that keep unchanged breakers.
 */
import t from 'tap'
import http from 'node:http'
import { parseConfig } from '../../src/config/load.js'
import type { BreakerTransition, PanicEvent } from '../../src/resilience/events.js'
import { json, request, startUpstream, type Upstream } from '../helpers/upstream.js'
import { sleep, startKillable, startRuntime, until } from '../helpers/runtime.js'

/** Never lagging on a shared test machine: lag pauses failure counting, which these tests measure. */
const NO_LAG = { eventLoopLagThreshold: '10s' }

function listener(routes: unknown[]) {
  return [{ name: 'outbound', listen: '127.0.0.1:0', routes }]
}

t.test('breaker: a killed endpoint opens within the volume threshold; one half-open trial closes it; it takes traffic again', async (t) => {
  const ups = await Promise.all(['a', 'b', 'c'].map((n) => startKillable(n)))
  const victim = ups[1]!
  const volumeThreshold = 20
  const rt = await startRuntime({
    health: NO_LAG,
    listeners: listener([{ match: {}, service: 'svc', retries: { attempts: 3, on: ['connect-failure', 'reset', '503'], backoff: { base: '1ms', max: '5ms' } } }]),
    services: {
      svc: {
        strategy: 'round-robin',
        endpoints: ups.map((u) => ({ address: u.address })),
        // a 1 s window (10 buckets). With r requests/s on the victim the window holds about r
        // outcomes; at 25% errors it opens after about r/4 failures. The load below gives r in
        // 25..50, so the volume threshold (20) is reached and it opens after about 6..13 failures.
        breaker: { volumeThreshold, errorThresholdPercentage: 25, rollingCountTimeout: '1s', rollingCountBuckets: 10, resetTimeout: '400ms' },
        outlierDetection: { enabled: false },
      },
    },
  })
  t.teardown(async () => {
    await rt.stop()
    await Promise.all(ups.map((u) => u.close()))
  })
  const ep = rt.runtime.sidecar.registry.service('svc')!.get(victim.address)!
  const transitions: (BreakerTransition & { failures: number; seen: number })[] = []
  rt.runtime.resilience.on({ breakerTransition: (e) => transitions.push({ ...e, failures: ep.failures, seen: victim.seen.length }) })

  // steady load: 6 clients, one request every ~45 ms each (~130 req/s, ~45/s on the victim; never above 50/s)
  let running = true
  let clientFailures = 0
  let sent = 0
  const agent = new http.Agent({ keepAlive: true, maxSockets: 6 })
  const client = async () => {
    while (running) {
      const r = await new Promise<number>((resolve) => {
        const req = http.get({ host: '127.0.0.1', port: rt.port, path: '/', agent }, (res) => {
          res.resume()
          res.on('end', () => resolve(res.statusCode ?? 0))
        })
        req.on('error', () => resolve(0))
      })
      sent++
      if (r !== 200) clientFailures++
      await sleep(40)
    }
  }
  const clients = Array.from({ length: 6 }, client)
  t.teardown(() => {
    running = false
    agent.destroy()
  })

  await sleep(1200)
  t.ok(victim.seen.length >= 5, `the victim took its share before (${victim.seen.length} requests)`)
  const failuresAtKill = ep.failures
  await victim.kill()
  t.ok(await until(() => transitions.some((e) => e.to === 'open'), 5000), 'the breaker opened')
  const open = transitions.find((e) => e.to === 'open')!
  const failedOnVictim = open.failures - failuresAtKill
  t.ok(failedOnVictim >= 1 && failedOnVictim <= volumeThreshold, `opened after ${failedOnVictim} failed requests on the endpoint (volume threshold ${volumeThreshold})`)
  t.match(open, { service: 'svc', endpoint: victim.address, from: 'closed', to: 'open', reason: /requests failed/ })
  t.equal(ep.breaker.kind, 'open')
  t.notOk(rt.runtime.sidecar.registry.service('svc')!.snapshot.eligible.includes(ep), 'out of picking while open')
  t.ok(rt.lines.some((l) => l.level === 40 && l.from === 'closed' && l.to === 'open' && l.endpoint === victim.address), 'logged at warn with old/new state')

  // it comes back before the reset timeout: the half-open probe finds it working
  await victim.revive()
  const seenAtRevive = victim.seen.length
  t.ok(await until(() => transitions.some((e) => e.to === 'closed'), 5000), 'the breaker closed again')
  const states = transitions.map((e) => `${e.from}>${e.to}`)
  t.same(states, ['closed>open', 'open>half-open', 'half-open>closed'], 'one open, one half-open, one close')
  const closed = transitions.find((e) => e.to === 'closed')!
  t.equal(closed.seen - seenAtRevive, 1, 'exactly one request (the trial) reached it while half-open')
  t.match(closed.reason, /trial request succeeded/)
  t.ok(rt.lines.some((l) => l.level === 30 && l.from === 'half-open' && l.to === 'closed'), 'the close is logged at info')

  const before = victim.seen.length
  t.ok(await until(() => victim.seen.length >= before + 5, 3000), 'it takes traffic again')
  running = false
  await Promise.all(clients)
  t.equal(clientFailures, 0, `no client saw a failure (${sent} requests; retries went elsewhere)`)
  const view = rt.runtime.resilience.view('svc')
  t.equal(view.services[0]!.endpoints.find((e) => e.address === victim.address)!.breaker.state, 'closed', 'admin view: closed')
  t.ok(rt.runtime.resilience.breakerOf(ep)!.rejected >= 0)
})

t.test('panic mode: every endpoint ejected still gets traffic (and says so loudly); with panicThreshold 0 commy answers 503', async (t) => {
  let failing = true
  const handler = (req: http.IncomingMessage, res: http.ServerResponse, up: Upstream) => {
    req.resume()
    res.writeHead(failing ? 503 : 200, { 'x-upstream': up.name }).end(JSON.stringify({ upstream: up.name }))
  }
  const ups = await Promise.all(['a', 'b', 'c'].map((n) => startUpstream(n, handler)))
  const service = (panicThreshold: number) => ({
    strategy: 'round-robin',
    endpoints: ups.map((u) => ({ address: u.address })),
    breaker: { enabled: false },
    outlierDetection: { consecutiveErrors: 2, baseEjectionTime: '30s', maxEjectionPercent: 100 },
    panicThreshold,
  })
  const rt = await startRuntime({ health: NO_LAG, listeners: listener([{ match: {}, service: 'svc', explain: true }]), services: { svc: service(50) } })
  const off = await startRuntime({ health: NO_LAG, listeners: listener([{ match: {}, service: 'svc' }]), services: { svc: service(0) } })
  t.teardown(async () => {
    await rt.stop()
    await off.stop()
    await Promise.all(ups.map((u) => u.close()))
  })
  const panics: PanicEvent[] = []
  rt.runtime.resilience.on({ panic: (e) => panics.push(e) })
  const set = rt.runtime.sidecar.registry.service('svc')!

  for (let i = 0; i < 9; i++) await request(rt.port)
  t.equal(set.snapshot.all.filter((ep) => ep.ejectedUntil > 0).length, 3, 'all three endpoints ejected')
  t.equal(set.snapshot.panic, true, 'panic mode')
  t.same(panics.map((p) => p.panic), [true], 'one flip into panic')
  t.match(panics[0], { service: 'svc', healthy: 1, serving: 3, threshold: 50 })
  const loud = rt.lines.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('PANIC MODE'))
  t.equal(loud.length, 1, 'logged once')
  t.equal(loud[0]!.level, 40, 'at warn')

  failing = false
  const answered = new Set<string>()
  for (let i = 0; i < 6; i++) {
    const r = await request(rt.port)
    t.equal(r.status, 200, 'ejected endpoints answer in panic mode')
    answered.add(json(r).upstream as string)
    const x = JSON.parse(r.headers['x-commy-explain'] as string) as { panic: boolean; endpoints: { state: string }[] }
    t.equal(x.panic, true, 'explain says panic')
    t.ok(x.endpoints.every((e) => e.state === 'ejected'), 'and that every endpoint is ejected')
  }
  t.equal(answered.size, 3, 'spread over all of them')

  // without panic routing, the same situation fails every request at commy
  failing = true
  for (let i = 0; i < 9; i++) await request(off.port)
  failing = false
  const r = await request(off.port)
  t.equal(r.status, 503)
  t.equal(json(r).code, 'COMMY_ERR_NO_HEALTHY_ENDPOINT')
})

t.test('concurrency limit: beyond max in flight and queue, a fast 503 COMMY_ERR_OVERLOADED; queued requests wait their turn or time out', async (t) => {
  const held: http.ServerResponse[] = []
  const up = await startUpstream('slow', (req, res) => {
    req.resume()
    held.push(res)
  })
  const rt = await startRuntime({
    health: NO_LAG,
    listeners: listener([{ match: {}, service: 'svc' }]),
    services: { svc: { endpoints: [{ address: up.address }], concurrency: { maxInFlight: 2, maxQueued: 1, queueTimeout: '400ms' } } },
  })
  t.teardown(async () => {
    for (const r of held) r.end()
    await rt.stop()
    await up.close()
  })
  const release = () => {
    for (const r of held.splice(0)) r.end('done')
  }
  const pending = [request(rt.port), request(rt.port), request(rt.port)]
  t.ok(await until(() => held.length === 2), 'two requests reach the upstream')
  await sleep(20)
  t.equal(held.length, 2, 'the third waits in the queue')
  t.same(rt.runtime.resilience.concurrency('svc'), { inFlight: 2, queued: 1, rejected: 0, timedOut: 0 })

  const t0 = Date.now()
  const refused = await request(rt.port)
  const took = Date.now() - t0
  t.equal(refused.status, 503)
  t.equal(json(refused).code, 'COMMY_ERR_OVERLOADED')
  t.ok(took < 200, `refused fast (${took} ms)`)

  release()
  t.ok(await until(() => held.length === 1), 'the queued request gets the freed slot')
  release()
  const replies = await Promise.all(pending)
  t.same(replies.map((r) => r.status), [200, 200, 200], 'every admitted request completes')

  // a queued request that waits longer than queueTimeout is refused
  const more = [request(rt.port), request(rt.port)]
  t.ok(await until(() => held.length === 2))
  const q0 = Date.now()
  const late = await request(rt.port)
  const waited = Date.now() - q0
  t.equal(late.status, 503)
  t.equal(json(late).code, 'COMMY_ERR_OVERLOADED')
  t.ok(waited >= 350 && waited < 1500, `after the queue timeout (${waited} ms)`)
  t.match(json(late).error, /queued longer than 400ms/)
  release()
  await Promise.all(more)
  t.match(rt.runtime.resilience.concurrency('svc'), { inFlight: 0, queued: 0, rejected: 2, timedOut: 1 })
})

t.test('explain: strategy, candidate scores, breaker states, panic and retry budget, in the header and the access log', async (t) => {
  const ups = await Promise.all([startUpstream('a'), startUpstream('b')])
  const rt = await startRuntime({
    health: NO_LAG,
    listeners: listener([
      { match: { pathPrefix: '/why' }, service: 'svc', explain: true, strategy: 'least-connections' },
      { match: {}, service: 'svc' },
    ]),
    services: { svc: { strategy: 'round-robin', endpoints: ups.map((u) => ({ address: u.address })), retryBudget: { ratio: 0.2, minPerSecond: 3 } } },
  })
  t.teardown(async () => {
    await rt.stop()
    await Promise.all(ups.map((u) => u.close()))
  })
  const r = await request(rt.port, { path: '/why' })
  const x = JSON.parse(r.headers['x-commy-explain'] as string) as Record<string, unknown> & {
    scores: { address: string; score: number }[]
    endpoints: { address: string; breaker: string; state: string; candidate: boolean }[]
    retryBudget: { left: number; requests: number }
  }
  t.equal(x.strategy, 'least-connections', 'the route override is the strategy that picked')
  t.equal(x.picked, ups.find((u) => u.name === json(r).upstream)!.address)
  t.equal(x.panic, false)
  t.equal(x.tries, 1)
  t.same(x.scores.map((s) => s.address).sort(), ups.map((u) => u.address).sort(), 'a score per candidate')
  t.same(
    x.endpoints.map((e) => [e.address, e.breaker, e.state, e.candidate]).sort(),
    ups.map((u) => [u.address, 'closed', 'healthy', true]).sort(),
    'every endpoint with its breaker and state',
  )
  t.equal(x.retryBudget.requests, 1, 'this request counted in the budget')
  t.equal(x.retryBudget.left, 30, 'retries left: 0.2 × 1 + 3/s × 10 s, floored')
  t.equal((await request(rt.port, { path: '/plain' })).headers['x-commy-explain'], undefined, 'only on explain routes')
  t.ok(await until(() => rt.access.length >= 2))
  const logged = rt.access.find((l) => l.path === '/why')!
  t.match(logged.explain, { strategy: 'least-connections', picked: x.picked, retryBudget: { requests: 1 } }, 'the access log carries the same explanation')
  t.equal(rt.access.find((l) => l.path === '/plain')!.explain, undefined)
})

t.test('reload: unchanged endpoints keep their breakers; a changed breaker config rebuilds them; new services get mechanisms', async (t) => {
  const ups = await Promise.all([startUpstream('a'), startUpstream('b'), startUpstream('c')])
  const yaml = (volume: number, endpoints: Upstream[], extra = '') => `
admin: { listen: 127.0.0.1:0 }
health: { eventLoopLagThreshold: 10s }
listeners:
  - name: outbound
    listen: 127.0.0.1:0
    routes:
      - { match: { pathPrefix: /other }, service: other }
      - { match: {}, service: svc }
services:
  svc:
    endpoints: [${endpoints.map((u) => `{ address: ${u.address} }`).join(', ')}]
    breaker: { volumeThreshold: ${volume}, resetTimeout: 30s }
    outlierDetection: { enabled: false }
  other:
    endpoints: [{ address: ${ups[2].address} }]
${extra}`
  const rt = await startRuntime({
    health: NO_LAG,
    listeners: listener([{ match: { pathPrefix: '/other' }, service: 'other' }, { match: {}, service: 'svc' }]),
    services: {
      svc: { endpoints: [{ address: ups[0].address }, { address: ups[1].address }], breaker: { volumeThreshold: 1, resetTimeout: '30s' }, outlierDetection: { enabled: false } },
      other: { endpoints: [{ address: ups[2].address }] },
    },
  })
  t.teardown(async () => {
    await rt.stop()
    await Promise.all(ups.map((u) => u.close()))
  })
  const set = () => rt.runtime.sidecar.registry.service('svc')!
  const a = set().get(ups[0].address)!
  // open a's breaker by hand through the pipeline: kill a and send until it opens
  await ups[0].close()
  for (let i = 0; i < 4 && a.breaker.kind !== 'open'; i++) await request(rt.port)
  t.equal(a.breaker.kind, 'open', 'a is open')

  // same breaker config, one endpoint added: a keeps its open breaker
  await rt.runtime.apply(parseConfig(yaml(1, [ups[0], ups[1], ups[2]]), 'test.yaml'))
  t.equal(set().get(ups[0].address), a, 'the endpoint object is kept')
  t.equal(a.breaker.kind, 'open', 'an unchanged endpoint keeps its (open) breaker')
  t.equal(rt.runtime.resilience.view('svc').services[0]!.endpoints.length, 3, 'the added endpoint has a breaker')

  // the breaker config changes: breakers are rebuilt (closed, fresh window)
  await rt.runtime.apply(parseConfig(yaml(50, [ups[0], ups[1], ups[2]]), 'test.yaml'))
  t.equal(a.breaker.kind, 'closed', 'a changed breaker config starts every breaker afresh')
  t.ok(rt.lines.some((l) => l.msg === 'service resilience reconfigured' && (l.rebuilt as string[]).includes('breaker')))

  // a new service gets its mechanisms; a removed one is dropped
  await rt.runtime.apply(
    parseConfig(yaml(50, [ups[1]], `  fresh:\n    endpoints: [{ address: ${ups[1].address} }]\n    concurrency: { maxInFlight: 7 }\n`), 'test.yaml'),
  )
  t.match(rt.runtime.resilience.view('fresh').services[0], { service: 'fresh', concurrency: { maxInFlight: 7 }, endpoints: [{ address: ups[1].address }] })
  t.equal(rt.runtime.resilience.view('svc').services[0]!.endpoints.length, 1, 'removed endpoints lose their breakers')
  await rt.runtime.apply(parseConfig(yaml(50, [ups[1]]), 'test.yaml'))
  t.equal(rt.runtime.resilience.view('fresh').services.length, 0, 'a removed service is dropped')
  t.equal((await request(rt.port)).status, 200, 'still serving')
  t.same(rt.runtime.resilience.classifier().find((r) => r.reason === 'reset-before-write'), {
    outcome: 'UpstreamResetError (unwritten, idle-race)',
    verdict: 'neutral',
    reason: 'reset-before-write',
    why: 'never written, or the keep-alive race: a reused idle socket closed before any byte of the answer',
  }, 'the classifier table is readable')
})
