import t from 'tap'
import { closedPort, json, request, startUpstream } from '../helpers/upstream.js'
import { oneListener, startSidecar } from '../helpers/sidecar.js'
import { StrategyRegistry } from '../../src/balancer/registry.js'
import { createRoundRobin } from '../../src/balancer/round-robin.js'

t.test('round robin over 3 endpoints gives an exact cycle; stats are kept per endpoint', async (t) => {
  const ups = await Promise.all([startUpstream('a'), startUpstream('b'), startUpstream('c')])
  const sc = await startSidecar(
    oneListener([{ match: {}, service: 'svc' }], { svc: { strategy: 'round-robin', endpoints: ups.map((u) => ({ address: u.address })) } }),
  )
  t.teardown(async () => {
    await sc.stop()
    await Promise.all(ups.map((u) => u.close()))
  })
  const order: string[] = []
  for (let i = 0; i < 9; i++) order.push(json(await request(sc.port)).upstream as string)
  const first = order.slice(0, 3)
  t.same([...first].sort(), ['a', 'b', 'c'], 'each endpoint once per cycle')
  t.same(order, [...first, ...first, ...first], 'the same cycle repeats exactly')

  const eps = sc.sidecar.registry.service('svc')!.snapshot.all
  t.same(eps.map((e) => e.requests), [3, 3, 3], 'requests counted per endpoint')
  t.same(eps.map((e) => e.inFlight), [0, 0, 0], 'in-flight back to 0 once bodies ended')
  t.ok(eps.every((e) => e.latency.peek() !== undefined), 'latency observed')
})

t.test('all endpoints dead: 502 quickly, with the service named, never a hang', async (t) => {
  const dead = await Promise.all([closedPort(), closedPort()])
  const sc = await startSidecar(
    oneListener(
      [{ match: {}, service: 'payments', retries: { attempts: 2, on: ['connect-failure'] } }],
      { payments: { endpoints: dead.map((p) => ({ address: `127.0.0.1:${p}` })), upstream: { connectTimeout: '500ms' } } },
    ),
  )
  t.teardown(() => sc.stop())
  const started = Date.now()
  const r = await request(sc.port, { method: 'POST', body: 'not idempotent: connect failures are still safe to retry' })
  t.ok(Date.now() - started < 2000, 'answered quickly')
  t.equal(r.status, 502)
  const body = json(r)
  t.equal(body.code, 'COMMY_ERR_UPSTREAM_CONNECT')
  t.equal(body.service, 'payments')
  t.match(body.error, /payments/)
  const log = sc.access.at(-1)!
  t.equal(log.attempts, 2, 'both endpoints tried')
  const eps = sc.sidecar.registry.service('payments')!.snapshot.all
  t.same(eps.map((e) => e.failures), [1, 1], 'one failure recorded on each')
  t.same(eps.map((e) => e.consecutiveFailures), [1, 1])
})

t.test('a service without endpoints: 503 no healthy endpoint', async (t) => {
  const sc = await startSidecar(oneListener([{ match: {}, service: 'empty' }], { empty: { endpoints: [] } }))
  t.teardown(() => sc.stop())
  const r = await request(sc.port)
  t.equal(r.status, 503)
  t.equal(json(r).code, 'COMMY_ERR_NO_HEALTHY_ENDPOINT')
  t.equal(json(r).service, 'empty')
})

t.test('a configured strategy that is not registered is refused when the sidecar is built', async (t) => {
  await t.rejects(
    startSidecar(oneListener([{ match: {}, service: 's' }], { s: { strategy: 'least-connections', endpoints: [{ address: '127.0.0.1:1' }] } }), {
      strategies: new StrategyRegistry().register('round-robin', createRoundRobin),
    }),
    { code: 'COMMY_ERR_CONFIG', message: /least-connections/ },
  )
})

t.test('explain: routes with explain: true say why the endpoint was picked', async (t) => {
  const ups = await Promise.all([startUpstream('a'), startUpstream('b')])
  const sc = await startSidecar(
    oneListener(
      [
        { match: { pathPrefix: '/why' }, service: 'svc', explain: true },
        { match: {}, service: 'svc' },
      ],
      { svc: { strategy: 'least-connections', endpoints: ups.map((u) => ({ address: u.address })) } },
    ),
  )
  t.teardown(async () => {
    await sc.stop()
    await Promise.all(ups.map((u) => u.close()))
  })
  const r = await request(sc.port, { path: '/why' })
  const e = JSON.parse(r.headers['x-commy-explain'] as string) as { strategy: string; picked: string; tries: number; scores: { address: string }[] }
  t.equal(e.strategy, 'least-connections')
  t.equal(e.picked, ups.find((u) => u.name === json(r).upstream)!.address, 'names the endpoint that answered')
  t.equal(e.tries, 1)
  t.same(e.scores.map((s) => s.address).sort(), ups.map((u) => u.address).sort(), 'a score per candidate')
  t.equal((await request(sc.port, { path: '/other' })).headers['x-commy-explain'], undefined, 'only where asked for')
})
