import t from 'tap'
import net from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { ManualClock, seededRandom, systemClock } from '../../src/clock.js'
import type { HealthCheckConfig } from '../../src/config/types.js'
import { Endpoint, type EndpointInfo } from '../../src/endpoint/endpoint.js'
import { ServiceEndpoints } from '../../src/endpoint/service-endpoints.js'
import { ActiveMonitor, type CheckOutcome, type HealthTransition } from '../../src/health/active-monitor.js'
import type { HealthCheck } from '../../src/health/check.js'
import { startUpstream } from '../helpers/upstream.js'

const info = (port: number): EndpointInfo => ({ host: '127.0.0.1', port, weight: 1, zone: undefined, tags: [] })

function hc(over: Partial<HealthCheckConfig> = {}): HealthCheckConfig {
  return {
    kind: 'http',
    path: '/health',
    method: 'GET',
    expectStatus: [200, 299],
    expectBody: undefined,
    headers: {},
    intervalMs: 20,
    timeoutMs: 1_000,
    jitter: 0,
    unhealthyThreshold: 3,
    healthyThreshold: 2,
    remote: false,
    ...over,
  }
}

function service(): ServiceEndpoints {
  return new ServiceEndpoints({
    name: 'svc',
    panicThreshold: 0,
    slowStartMs: 0,
    latencyDecayMs: 10_000,
    preferLocalZone: false,
    localZone: undefined,
    now: () => systemClock.now(),
  })
}

/** Polls until `cond` holds; fails the test (instead of hanging) after `ms`. */
async function until(cond: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await sleep(5)
  }
}

function record(monitor: ActiveMonitor) {
  const transitions: HealthTransition[] = []
  const checks: CheckOutcome[] = []
  monitor.on({ transition: (x) => transitions.push(x), checked: (c) => checks.push(c) })
  return { transitions, checks }
}

t.test('HTTP: unhealthy after exactly unhealthyThreshold 500s, out of the eligible set, back after healthyThreshold passes', async (t) => {
  let status = 200
  const a = await startUpstream('a', (_req, res) => void res.writeHead(status).end('ok'))
  const b = await startUpstream('b', (_req, res) => void res.writeHead(200).end('ok'))
  t.teardown(() => Promise.all([a.close(), b.close()]))
  const svc = service()
  svc.apply('static', [info(a.port), info(b.port)])
  const cfg = hc()
  const monitor = new ActiveMonitor({ configFor: () => cfg, clock: systemClock, random: seededRandom(1) })
  t.teardown(() => monitor.stop())
  const { transitions } = record(monitor)
  const epA = svc.get(a.address)!
  for (const ep of svc.snapshot.all) monitor.watch(ep, () => svc.refresh())
  monitor.start()
  await until(() => epA.activeHealth === 'healthy')
  t.equal(transitions[0]!.from, 'unknown', 'first pass: unknown -> healthy')

  let seenAtSwitch = a.seen.length
  status = 500
  let countAtTransition = -1
  monitor.on({ transition: (x) => void (x.endpoint === epA && x.to === 'unhealthy' && (countAtTransition = a.seen.length - seenAtSwitch)) })
  await until(() => epA.activeHealth === 'unhealthy')
  t.equal(countAtTransition, 3, 'marked unhealthy after exactly 3 failing checks')
  t.equal(epA.activeReason, 'HTTP 500 from /health')
  t.notOk(svc.snapshot.eligible.includes(epA), 'no longer eligible')
  t.ok(svc.snapshot.eligible.some((e) => e.port === b.port), 'the other endpoint still is')
  const e = epA.eligibility(systemClock.now())
  t.same([e.state, e.reason], ['unhealthy', 'HTTP 500 from /health'])
  const down = transitions.find((x) => x.to === 'unhealthy')!
  t.same([down.from, down.reason], ['healthy', 'HTTP 500 from /health'])

  seenAtSwitch = a.seen.length
  status = 200
  let countAtRecovery = -1
  monitor.on({ transition: (x) => void (x.endpoint === epA && x.to === 'healthy' && (countAtRecovery = a.seen.length - seenAtSwitch)) })
  await until(() => epA.activeHealth === 'healthy')
  t.equal(countAtRecovery, 2, 'healthy again after exactly 2 passing checks')
  t.ok(svc.snapshot.eligible.includes(epA), 'eligible again')
  t.equal(transitions.filter((x) => x.endpoint === epA).length, 3, 'transitions only, no repeats')
})

t.test('TCP: a closed port is unhealthy after the threshold; reopened on the same port it recovers', async (t) => {
  let accepted = 0
  const sockets = new Set<net.Socket>()
  const server = net.createServer((s) => {
    accepted++
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as net.AddressInfo).port
  const close = () => new Promise<void>((r) => {
    for (const s of sockets) s.destroy()
    server.close(() => r())
  })
  t.teardown(() => (server.listening ? close() : undefined))
  const svc = service()
  svc.apply('static', [info(port)])
  const ep = svc.snapshot.all[0]!
  const monitor = new ActiveMonitor({ configFor: () => hc({ kind: 'tcp' }), clock: systemClock, random: seededRandom(2) })
  t.teardown(() => monitor.stop())
  const { checks } = record(monitor)
  monitor.watch(ep, () => svc.refresh())
  monitor.start()
  await until(() => ep.activeHealth === 'healthy')
  t.ok(accepted >= 1)

  await close()
  const failedBefore = checks.filter((c) => !c.ok).length
  let failuresAtTransition = -1
  monitor.on({ transition: (x) => void (x.to === 'unhealthy' && (failuresAtTransition = checks.filter((c) => !c.ok).length - failedBefore)) })
  await until(() => ep.activeHealth === 'unhealthy')
  t.equal(failuresAtTransition, 3, 'exactly unhealthyThreshold refused connects')
  t.equal(ep.activeReason, 'connect ECONNREFUSED')
  t.same(svc.snapshot.eligible, [], 'no eligible endpoint (panic threshold 0)')

  accepted = 0
  await new Promise<void>((r, j) => {
    server.once('error', j)
    server.listen(port, '127.0.0.1', () => r())
  })
  let acceptedAtRecovery = -1
  monitor.on({ transition: (x) => void (x.to === 'healthy' && (acceptedAtRecovery = accepted)) })
  await until(() => ep.activeHealth === 'healthy')
  t.equal(acceptedAtRecovery, 2, 'healthy after exactly healthyThreshold connects')
  t.same(svc.snapshot.eligible, [ep])
})

t.test('a slow check never overlaps the next one', async (t) => {
  let inFlight = 0
  let maxInFlight = 0
  const starts: number[] = []
  const ends: number[] = []
  const up = await startUpstream('slow', (_req, res) => {
    inFlight++
    maxInFlight = Math.max(maxInFlight, inFlight)
    starts.push(performance.now())
    setTimeout(() => {
      inFlight--
      ends.push(performance.now())
      res.writeHead(200).end('ok')
    }, 80)
  })
  t.teardown(() => up.close())
  const ep = new Endpoint('svc', info(up.port), 'static', 10_000)
  const monitor = new ActiveMonitor({ configFor: () => hc({ intervalMs: 10, timeoutMs: 1_000 }), clock: systemClock, random: seededRandom(3) })
  t.teardown(() => monitor.stop())
  monitor.watch(ep, () => {})
  monitor.start()
  await until(() => ends.length >= 4)
  await monitor.stop()
  t.equal(maxInFlight, 1, 'one check at a time')
  for (let i = 1; i < starts.length; i++) t.ok(starts[i]! >= ends[i - 1]! + 5, `check ${i} began ${Math.round(starts[i]! - ends[i - 1]!)}ms after the previous ended`)
})

t.test('first checks are staggered over the first interval; later ones follow interval ± jitter', async (t) => {
  const clock = new ManualClock()
  const at = new Map<string, number[]>()
  const check: HealthCheck = {
    check: (target) => {
      const k = `${target.port}`
      at.set(k, [...(at.get(k) ?? []), clock.now()])
      return Promise.resolve({ ok: true, reason: 'fake' })
    },
  }
  const monitor = new ActiveMonitor({ configFor: () => hc({ intervalMs: 1_000, jitter: 10 }), clock, random: seededRandom(4), checkFor: () => check })
  for (let i = 1; i <= 100; i++) monitor.watch(new Endpoint('svc', info(i), 'static', 10_000), () => {})
  monitor.start()
  // advance in small steps so each check's continuation schedules the next at the right time
  for (let ms = 0; ms < 3_000; ms += 5) {
    clock.advance(5)
    await Promise.resolve()
    await Promise.resolve()
    await Promise.resolve()
  }
  const firsts = [...at.values()].map((v) => v[0]!)
  t.equal(firsts.length, 100, 'every endpoint checked')
  t.ok(firsts.every((x) => x >= 0 && x < 1_000), 'first check within the first interval')
  const deciles = new Set(firsts.map((x) => Math.floor(x / 100)))
  t.ok(deciles.size >= 9, `spread over the interval (${deciles.size}/10 deciles used)`)
  const gaps = [...at.values()].flatMap((v) => v.slice(1).map((x, i) => x - v[i]!))
  t.ok(gaps.length > 100)
  t.ok(gaps.every((g) => g >= 900 - 5 && g <= 1_100 + 5), `gaps within interval ± 10% (${Math.min(...gaps)}..${Math.max(...gaps)})`)
  await monitor.stop()
  t.equal(clock.pending(), 0, 'stop cancels every timer')
})

t.test('gossip endpoints are checked only when remote is on; unwatch and stop cancel in-flight checks', async (t) => {
  const closed: string[] = []
  const up = await startUpstream('hang', (req) => {
    req.socket.once('close', () => closed.push(req.url ?? ''))
  })
  t.teardown(() => up.close())
  let remote = false
  const monitor = new ActiveMonitor({ configFor: () => hc({ remote, timeoutMs: 60_000 }), clock: systemClock, random: seededRandom(5) })
  t.teardown(() => monitor.stop())
  const gossiped = new Endpoint('svc', info(up.port), 'gossip', 10_000)
  monitor.watch(gossiped, () => {})
  monitor.start()
  await sleep(80)
  t.equal(up.seen.length, 0, 'a gossip endpoint is not probed without remote: true')
  remote = true
  monitor.reconfigure()
  await until(() => up.seen.length === 1)
  t.equal(monitor.watched(), 1)
  const stopped = monitor.stop()
  await until(() => closed.length === 1, 2_000)
  await stopped
  t.equal(monitor.watched(), 0)
  t.equal(up.seen.length, 1, 'nothing scheduled after stop')
  await monitor.stop()
})

t.test('a check that outlives its timeout fails with the timeout as reason', async (t) => {
  const up = await startUpstream('hang', () => {})
  t.teardown(() => up.close())
  const ep = new Endpoint('svc', info(up.port), 'static', 10_000)
  const monitor = new ActiveMonitor({ configFor: () => hc({ timeoutMs: 50, unhealthyThreshold: 1 }), clock: systemClock, random: seededRandom(6) })
  t.teardown(() => monitor.stop())
  const { checks } = record(monitor)
  monitor.watch(ep, () => {})
  monitor.start()
  await until(() => ep.activeHealth === 'unhealthy')
  t.equal(ep.activeReason, 'timeout after 50ms')
  t.ok(checks[0]!.durationMs < 500, `settled at the timeout (${Math.round(checks[0]!.durationMs)}ms)`)
})

t.test('mesh endpoints (mtls) are never checked from here, even with remote: their node reports their health', async (t) => {
  const up = await startUpstream('inbound')
  t.teardown(() => up.close())
  const monitor = new ActiveMonitor({ configFor: () => hc({ remote: true, intervalMs: 10 }), clock: systemClock, random: seededRandom(7) })
  t.teardown(() => monitor.stop())
  const mesh = new Endpoint('svc', { ...info(up.port), mtls: true }, 'gossip', 10_000)
  monitor.watch(mesh, () => {})
  monitor.start()
  await sleep(80) // absence check: nothing to wait for
  t.equal(up.seen.length, 0, 'not probed')
  t.equal(mesh.activeHealth, 'unknown')
})
