/**
 * Issue #5's acceptance, end to end: five real commy processes on 127.0.0.1 (admin, listeners and
 * gossip on port 0; the others join through the first one's gossip port, read from its log),
 * encrypted, `local` profile: probe interval T = 200 ms, probe timeout 100 ms, suspicion
 * 3·T·max(1, log10 n) = 0.6 s up to ×6 = 3.6 s, gossip every 100 ms to 3 members.
 *
 * For n = 5 those settings imply (src/membership/bounds.ts): some node suspects a stopped member
 * within 1.6 s (worst case of the randomised round robin: 7 periods, plus the failing probe's
 * period), declares it dead within 5.2 s (+ the 3.6 s maximum suspicion; 0.6 s once another
 * member confirms), and every node knows within 5.6 s (+ 4 gossip rounds). Processes on a shared
 * 2-core machine are scheduled late now and then: the assertions allow SLACK = 1 s on top.
 *
 * The mesh: A (the seed) and B offer nothing; C offers `solo` (only provider); D and E both offer
 * `echo` (two providers, so traffic keeps flowing when one fails). Each node's app is a loopback
 * echo server in this process; "stopping a node" stops its commy process (SIGSTOP) and freezes its
 * app (requests held unanswered), as a paused VM would. A routes `/` to echo with 3 tries, a
 * 300 ms per-try timeout, and outlier ejection after 2 consecutive failures.
 */
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { parseConfig } from '../../src/config/load.js'
import { detectionBound } from '../../src/membership/bounds.js'
import { eventually, meshConfig, startApp, type MeshApp, type MeshNodeOptions } from '../helpers/mesh.js'
import { MeshProc, startTraffic, untilAll, type Traffic } from '../helpers/mesh-procs.js'
import { request } from '../helpers/upstream.js'

const KEY = randomBytes(32).toString('base64')
const NAMES = ['a', 'b', 'c', 'd', 'e']
const SLACK = 1000
const SERVICES = {
  solo: { strategy: 'round-robin' },
  echo: {
    strategy: 'round-robin',
    outlierDetection: { enabled: true, consecutiveErrors: 2, baseEjectionTime: '1s', maxEjectionPercent: 50 },
    retryBudget: { ratio: 1, minPerSecond: 100 },
  },
}
const ROUTES = [
  { name: 'solo', match: { pathPrefix: '/solo' }, service: 'solo' },
  { name: 'echo', match: { pathPrefix: '/' }, service: 'echo', retries: { attempts: 3, perTryTimeout: '300ms', on: ['connect-failure', 'reset', 'timeout'] } },
]
const base = (name: string, extra: Partial<MeshNodeOptions> = {}): MeshNodeOptions => ({ name, key: KEY, services: SERVICES, routes: ROUTES, ...extra })

const GOSSIP = parseConfig(JSON.stringify(meshConfig(base('a'))), 'mesh.yaml').gossip!
const T = GOSSIP.probeIntervalMs
const BOUND = detectionBound(GOSSIP, NAMES.length)

const procs = new Map<string, MeshProc>()
const apps = new Map<string, MeshApp>()
const p = (n: string) => procs.get(n)!
const others = (n: string) => [...procs.values()].filter((x) => x.name !== n && !x.exited)
let traffic: Traffic | undefined

t.teardown(async () => {
  await traffic?.stop()
  await Promise.all([...procs.values()].map((x) => x.kill()))
  await Promise.all([...apps.values()].map((a) => a.close()))
})

t.test('five sidecars join through one seed, converge to the same member list, and route to a service only C offers', async (t) => {
  for (const name of ['c-solo', 'd-echo', 'e-echo']) apps.set(name, await startApp(name))
  procs.set('a', await MeshProc.start(base('a')))
  const seeds = [p('a').seed]
  const local = (service: string, app: string) => [{ name: service, address: apps.get(app)!.address }]
  const rest = await Promise.all([
    MeshProc.start(base('b', { seeds })),
    MeshProc.start(base('c', { seeds, local: local('solo', 'c-solo') })),
    MeshProc.start(base('d', { seeds, local: local('echo', 'd-echo') })),
    MeshProc.start(base('e', { seeds, local: local('echo', 'e-echo') })),
  ])
  for (const r of rest) procs.set(r.name, r)

  const list = async (x: MeshProc) => (await x.members()).map((m) => `${m.name}:${m.state}:${m.services.join('+')}`).sort()
  const ms = await eventually(async () => (await Promise.all([...procs.values()].map(list))).every((l) => l.filter((m) => m.includes(':alive:')).length === 5), 10_000, 'convergence')
  const lists = await Promise.all([...procs.values()].map(list))
  t.ok(lists.every((l) => JSON.stringify(l) === JSON.stringify(lists[0])), `identical member lists on all five (admin /v1/members): ${lists[0]!.join(' ')}`)
  t.pass(`converged ${ms} ms after the last node started`)

  await eventually(async () => (await p('a').endpoints('solo')).length === 1 && (await p('a').endpoints('echo')).length === 2, 5000, "A's endpoints")
  const solo = (await p('a').endpoints('solo'))[0]!
  t.match(solo, { address: apps.get('c-solo')!.address, node: 'c', source: 'gossip' }, "A knows solo from C's announcement")
  const r = await request(p('a').port, { path: '/solo/hello' })
  t.equal(r.status, 200)
  t.equal(r.headers['x-app'], 'c-solo', "C's service answered through A's outbound port")
})

t.test('SIGSTOP, then SIGCONT before the suspicion times out: D refutes and stays alive; traffic never fails', async (t) => {
  traffic = startTraffic(p('a').port, '/echo')
  await new Promise((r) => setTimeout(r, 200))
  const d = p('d')
  const stoppedAt = Date.now()
  d.signal('SIGSTOP')
  apps.get('d-echo')!.freeze()
  await Promise.any(others('d').map((o) => o.until(() => o.state('d') === 'suspect', BOUND.suspectWithinMs + SLACK, 'suspect')))
  const suspectMs = Date.now() - stoppedAt
  d.signal('SIGCONT')
  apps.get('d-echo')!.thaw()
  t.ok(suspectMs <= BOUND.suspectWithinMs + SLACK, `suspected ${suspectMs} ms after SIGSTOP (bound ${BOUND.suspectWithinMs} ms); SIGCONT at once`)
  // a node that heard the refutation before the suspicion logs no change: ask the admin API
  const refuted = async () => (await Promise.all(others('d').map((o) => o.members()))).every((ms) => ms.some((m) => m.name === 'd' && m.state === 'alive' && m.incarnation >= 1))
  const ms = await eventually(refuted, 10 * T + SLACK, 'refuted everywhere')
  t.ok(others('d').every((o) => o.changes('d', 'dead').length === 0), 'never declared dead anywhere')
  const incarnation = (await p('a').members()).find((m) => m.name === 'd')!.incarnation
  t.pass(`alive everywhere again ${ms} ms after SIGCONT, with incarnation ${incarnation}`)
  await new Promise((r) => setTimeout(r, 300))
  const failed = traffic.replies.filter((x) => x.status !== 200)
  t.equal(failed.length, 0, `${traffic.replies.length} requests through A, none failed (a frozen endpoint's tries time out and retry on E)`)
})

t.test('SIGSTOP until dead: suspect, then dead everywhere within the bound; A stops routing to D; after SIGCONT D rejoins', async (t) => {
  const d = p('d')
  const from = traffic!.replies.length
  const stoppedAt = Date.now()
  d.signal('SIGSTOP')
  apps.get('d-echo')!.freeze()
  await Promise.any(others('d').map((o) => o.until(() => o.state('d') === 'suspect', BOUND.suspectWithinMs + SLACK, 'suspect')))
  const suspectMs = Date.now() - stoppedAt
  await untilAll(others('d'), (o) => o.state('d') === 'dead', BOUND.deadEverywhereWithinMs + SLACK, 'dead everywhere')
  const deadMs = Date.now() - stoppedAt
  t.ok(suspectMs <= BOUND.suspectWithinMs + SLACK, `suspected after ${suspectMs} ms (bound ${BOUND.suspectWithinMs} ms)`)
  t.ok(deadMs <= BOUND.deadEverywhereWithinMs + SLACK, `dead everywhere after ${deadMs} ms (bound ${BOUND.deadEverywhereWithinMs} ms; suspicion ${BOUND.suspicionMinMs}-${BOUND.suspicionMaxMs} ms)`)

  const deadAtA = p('a').view.get('d')!.t
  const eps = await p('a').endpoints('echo')
  t.same(eps.map((e) => e.node), ['e'], "A's echo endpoints: only E's (D's removed when D was declared dead)")
  // tries already waiting on D's frozen app time out first (300 ms each): give the loop time
  await new Promise((r) => setTimeout(r, 1500))
  const window = traffic!.replies.slice(from)
  const after = window.filter((x) => x.t > deadAtA + 50)
  t.ok(after.length > 5, `${after.length} requests after A declared D dead`)
  t.ok(after.every((x) => x.app === 'e-echo'), 'all served by E')
  t.equal(window.filter((x) => x.status !== 200).length, 0, `${window.length} requests while D was stopped, none failed`)

  const contAt = Date.now()
  d.signal('SIGCONT')
  apps.get('d-echo')!.thaw()
  const back = await untilAll([...procs.values()], (o) => o.state('d') === 'alive', 20 * T + SLACK, 'D alive everywhere')
  t.pass(`after SIGCONT D learned it was dead, refuted, and is alive everywhere ${back} ms later`)
  await eventually(async () => (await p('a').endpoints('echo')).length === 2, 2000, "D's endpoint back at A")
  t.ok(Date.now() - contAt < 20 * T + SLACK + 2000, "and A routes to D's endpoint again")
})

t.test('SIGKILL: dead everywhere within the bound, its endpoints removed (solo fails fast with 503)', async (t) => {
  const c = p('c')
  const killedAt = Date.now()
  await c.kill()
  await apps.get('c-solo')!.close()
  await untilAll(others('c'), (o) => o.state('c') === 'dead', BOUND.deadEverywhereWithinMs + SLACK, 'dead everywhere')
  const ms = Date.now() - killedAt
  t.ok(ms <= BOUND.deadEverywhereWithinMs + SLACK, `dead everywhere ${ms} ms after SIGKILL (bound ${BOUND.deadEverywhereWithinMs} ms)`)
  t.same(await p('a').endpoints('solo'), [], "C's endpoints removed at A")
  const at = Date.now()
  const r = await request(p('a').port, { path: '/solo/x' })
  t.equal(r.status, 503)
  t.match(JSON.parse(r.body), { code: 'COMMY_ERR_NO_HEALTHY_ENDPOINT', service: 'solo' }, 'no healthy endpoint')
  t.ok(Date.now() - at < 500, `answered in ${Date.now() - at} ms`)
})

t.test('graceful leave (SIGTERM): gone everywhere within 1 s, traffic moves to the other provider', async (t) => {
  const e = p('e')
  const from = traffic!.replies.length
  const at = Date.now()
  e.signal('SIGTERM')
  const ms = await untilAll(others('e'), (o) => o.state('e') === 'left', 1000, 'left everywhere')
  t.ok(Date.now() - at <= 1000, `left everywhere ${ms} ms after SIGTERM`)
  await eventually(async () => (await p('a').endpoints('echo')).every((x) => x.node === 'd'), 1000 - (Date.now() - at), "E's endpoint gone at A")
  t.ok(Date.now() - at <= 1000, "E's endpoint removed at A within 1 s")
  await e.until(() => e.exited, 5000, 'exit')
  t.equal(e.exit!.code, 0, 'E drained and exited 0')
  const leftAtA = p('a').view.get('e')!.t
  await new Promise((r) => setTimeout(r, 300))
  await traffic!.stop()
  const window = traffic!.replies.slice(from)
  t.ok(window.filter((x) => x.t > leftAtA + 50).every((x) => x.app === 'd-echo'), 'after the leave, D serves everything')
  t.equal(window.filter((x) => x.status !== 200).length, 0, 'no request failed')
  t.equal(traffic!.replies.filter((x) => x.status !== 200).length, 0, `${traffic!.replies.length} requests through A during the whole run, none failed`)
})
