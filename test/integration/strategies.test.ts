/**
 * Balancing strategies through a real Runtime on loopback: least-connections keeps traffic away
 * from an endpoint holding slow requests, latency away from one 50 ms slower, weighted keeps exact
 * ratios, and a route's `strategy` overrides the service's (consistent hashing on one route,
 * round robin on another, same endpoints).
 */
import t from 'tap'
import http from 'node:http'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { load, startRuntime } from '../helpers/runtime.js'

const NO_LAG = { eventLoopLagThreshold: '10s' }
const listener = (routes: unknown[]) => [{ name: 'outbound', listen: '127.0.0.1:0', routes }]

/** Answers `{"upstream": name}` after `delayMs`. */
function delayed(delayMs: number) {
  return (req: http.IncomingMessage, res: http.ServerResponse, up: Upstream) => {
    req.resume()
    const answer = () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ upstream: up.name }))
    if (delayMs > 0) setTimeout(answer, delayMs)
    else answer()
  }
}

async function shares(port: number, total: number, concurrency: number, path = '/'): Promise<Map<string, number>> {
  const counts = new Map<string, number>()
  const r = await load({
    port,
    total,
    concurrency,
    request: () => ({ path }),
    onReply: (_i, reply) => {
      if (reply instanceof Error) return
      const name = (JSON.parse(reply.body) as { upstream: string }).upstream
      counts.set(name, (counts.get(name) ?? 0) + 1)
    },
  })
  if (r.failed > 0) throw new Error(`${r.failed} requests failed`)
  return counts
}

t.test('least-connections: an endpoint holding slow requests gets almost nothing', async (t) => {
  const ups = [await startUpstream('fast1', delayed(0)), await startUpstream('fast2', delayed(0)), await startUpstream('slow', delayed(200))]
  const rt = await startRuntime({
    health: NO_LAG,
    log: { accessLog: false },
    listeners: listener([{ match: {}, service: 'svc' }]),
    services: { svc: { strategy: 'least-connections', endpoints: ups.map((u) => ({ address: u.address })) } },
  })
  t.teardown(async () => {
    await rt.stop()
    await Promise.all(ups.map((u) => u.close()))
  })
  const total = 600
  const counts = await shares(rt.port, total, 8)
  const slow = (counts.get('slow') ?? 0) / total
  t.ok(slow < 0.05, `the slow endpoint got ${(slow * 100).toFixed(1)}% (${JSON.stringify(Object.fromEntries(counts))})`)
  t.ok((counts.get('fast1') ?? 0) > total * 0.3 && (counts.get('fast2') ?? 0) > total * 0.3, 'the fast ones share the rest')
})

t.test('latency: an endpoint 50 ms slower than two others gets less than 20%', async (t) => {
  const ups = [await startUpstream('fast1', delayed(5)), await startUpstream('fast2', delayed(5)), await startUpstream('slow', delayed(55))]
  const rt = await startRuntime({
    health: NO_LAG,
    log: { accessLog: false },
    listeners: listener([{ match: {}, service: 'svc' }]),
    services: { svc: { strategy: 'latency', endpoints: ups.map((u) => ({ address: u.address })) } },
  })
  t.teardown(async () => {
    await rt.stop()
    await Promise.all(ups.map((u) => u.close()))
  })
  const total = 600
  const counts = await shares(rt.port, total, 10)
  const slow = (counts.get('slow') ?? 0) / total
  t.ok(slow < 0.2, `the slow endpoint got ${(slow * 100).toFixed(1)}% (${JSON.stringify(Object.fromEntries(counts))})`)
  t.ok(slow > 0, 'it is still tried now and then')
})

t.test('weighted: exact ratios through the proxy', async (t) => {
  const ups = [await startUpstream('w1'), await startUpstream('w2'), await startUpstream('w3')]
  const rt = await startRuntime({
    health: NO_LAG,
    log: { accessLog: false },
    listeners: listener([{ match: {}, service: 'svc' }]),
    services: { svc: { strategy: 'weighted', endpoints: ups.map((u, i) => ({ address: u.address, weight: i + 1 })) } },
  })
  t.teardown(async () => {
    await rt.stop()
    await Promise.all(ups.map((u) => u.close()))
  })
  const counts = await shares(rt.port, 60, 1)
  t.same(Object.fromEntries(counts), { w1: 10, w2: 20, w3: 30 }, '1:2:3 over 60 requests')
})

t.test('route strategy override: consistent-hash on one route, round-robin on another, same service', async (t) => {
  const ups = await Promise.all(['a', 'b', 'c', 'd'].map((n) => startUpstream(n)))
  const rt = await startRuntime({
    health: NO_LAG,
    log: { accessLog: false },
    listeners: listener([
      { match: { pathPrefix: '/sticky' }, service: 'svc', strategy: 'consistent-hash', explain: true },
      { match: {}, service: 'svc' },
    ]),
    services: { svc: { strategy: 'round-robin', hashKey: 'header:x-user', endpoints: ups.map((u) => ({ address: u.address })) } },
  })
  t.teardown(async () => {
    await rt.stop()
    await Promise.all(ups.map((u) => u.close()))
  })
  const owner = new Map<string, Set<string>>()
  let strategy = ''
  await load({
    port: rt.port,
    total: 200,
    concurrency: 10,
    request: (i) => ({ path: '/sticky/cart', headers: { 'x-user': `user-${i % 20}` } }),
    onReply: (i, reply) => {
      if (reply instanceof Error) return
      const user = `user-${i % 20}`
      const set = owner.get(user) ?? new Set<string>()
      set.add((JSON.parse(reply.body) as { upstream: string }).upstream)
      owner.set(user, set)
      strategy = (JSON.parse(reply.headers['x-commy-explain'] as string) as { strategy: string }).strategy
    },
  })
  t.equal(strategy, 'consistent-hash', 'the route\'s strategy picked')
  t.equal(owner.size, 20)
  t.ok([...owner.values()].every((s) => s.size === 1), 'each user always lands on the same endpoint')
  t.ok(new Set([...owner.values()].map((s) => [...s][0])).size >= 3, 'users spread over the endpoints')

  const rr = await shares(rt.port, 40, 1, '/plain')
  t.same([...rr.values()], [10, 10, 10, 10], 'the other route cycles over every endpoint (the service\'s round robin)')
})
