/**
 * Five real processes, each one Membership over UDP/TCP on 127.0.0.1, `local` profile timings
 * (probe interval T = 200 ms, probe timeout 100 ms, suspicion 3 × T × max(1, log10 n), at most ×6,
 * gossip every 100 ms to 3 members), encrypted.
 *
 * The bound those settings imply for n = 5 (src/membership/bounds.ts): suspected within 1.6 s
 * (worst case of the randomised round robin, 7 periods, plus the failing probe's period), dead
 * within 5.2 s (plus the 3.6 s maximum suspicion timeout; 0.6 s once another member confirms),
 * dead everywhere within 5.6 s (plus 4 gossip rounds). On a shared 2-core machine processes are
 * scheduled late now and then, so the assertions allow SLACK = 1 s on top.
 */
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { detectionBound } from '../../src/membership/bounds.js'
import { localGossipConfig } from '../helpers/gossip-cluster.js'
import { GossipProc, removeCompiled, waitFor } from '../helpers/gossip-procs.js'

const NAMES = ['a', 'b', 'c', 'd', 'e']
const T = localGossipConfig().probeIntervalMs
const BOUND = detectionBound(localGossipConfig(), NAMES.length)
const SLACK = 1000
const KEY = randomBytes(32).toString('base64')

const procs = new Map<string, GossipProc>()
/** Each name's first port: the mass restart reuses them. */
const ports = new Map<string, number>()
const p = (n: string): GossipProc => procs.get(n)!
const others = (n: string): GossipProc[] => [...procs.values()].filter((x) => x.name !== n && !x.exited)
const allSee = (among: GossipProc[], names: string[], state: string): boolean => among.every((o) => names.every((n) => o.state(n) === state))

t.teardown(async () => {
  await Promise.all([...procs.values()].map((x) => x.kill()))
  removeCompiled()
})

t.test('five processes join through one seed and converge to the same member list', async (t) => {
  procs.set('a', await GossipProc.start({ name: 'a', key: KEY }))
  const seed = `127.0.0.1:${p('a').port}`
  const rest = await Promise.all(NAMES.slice(1).map((name) => GossipProc.start({ name, seeds: [seed], key: KEY })))
  for (const r of rest) procs.set(r.name, r)
  for (const x of procs.values()) ports.set(x.name, x.port)
  const ms = await waitFor(() => allSee([...procs.values()], NAMES, 'alive'), 10_000, 'convergence')
  t.pass(`all five alive everywhere ${ms} ms after the last process was ready`)
  for (const x of procs.values()) x.send('members')
  await waitFor(() => [...procs.values()].every((x) => x.events.some((e) => e.event === 'members')), 5000, 'member lists')
  const lists = [...procs.values()].map((x) =>
    JSON.stringify(
      (x.events.findLast((e) => e.event === 'members')!.members as { name: string; state: string }[]).map((m) => `${m.name}:${m.state}`).sort(),
    ),
  )
  t.ok(lists.every((l) => l === lists[0]), `identical member lists: ${lists[0]}`)
})

t.test('SIGSTOP, then SIGCONT before the suspicion times out: the node refutes and stays alive', async (t) => {
  const c = p('c')
  c.signal('SIGSTOP')
  const stoppedAt = Date.now()
  await waitFor(() => others('c').some((o) => o.state('c') === 'suspect'), BOUND.suspectWithinMs + SLACK, 'suspect')
  t.pass(`suspected ${Date.now() - stoppedAt} ms after SIGSTOP (bound ${BOUND.suspectWithinMs} + ${SLACK} ms)`)
  c.signal('SIGCONT')
  await waitFor(() => allSee([...procs.values()], ['c'], 'alive') && others('c').every((o) => (o.view.get('c')?.incarnation ?? 0) >= 1), 10 * T + SLACK, 'refutation')
  t.ok(
    others('c').every((o) => !o.events.some((e) => e.event === 'change' && e.member === 'c' && e.state === 'dead')),
    'never declared dead',
  )
  t.pass(`alive everywhere again with incarnation ${p('a').view.get('c')!.incarnation}`)
})

t.test('SIGSTOP: suspect, then dead everywhere within the bound; after SIGCONT it rejoins', async (t) => {
  const d = p('d')
  d.signal('SIGSTOP')
  const stoppedAt = Date.now()
  await waitFor(() => others('d').some((o) => o.state('d') === 'suspect'), BOUND.suspectWithinMs + SLACK, 'suspect')
  const suspectMs = Date.now() - stoppedAt
  await waitFor(() => allSee(others('d'), ['d'], 'dead'), BOUND.deadEverywhereWithinMs + SLACK, 'dead everywhere')
  const deadMs = Date.now() - stoppedAt
  t.ok(suspectMs <= BOUND.suspectWithinMs + SLACK, `suspected after ${suspectMs} ms (bound ${BOUND.suspectWithinMs} ms)`)
  t.ok(deadMs <= BOUND.deadEverywhereWithinMs + SLACK, `dead everywhere after ${deadMs} ms (bound ${BOUND.deadEverywhereWithinMs} ms)`)
  d.signal('SIGCONT')
  const back = await waitFor(() => allSee([...procs.values()], NAMES, 'alive'), 20 * T + SLACK, 'rejoin')
  t.pass(`after SIGCONT it learned it was dead, refuted, and is alive everywhere after ${back} ms`)
})

t.test('SIGKILL: dead everywhere within the bound', async (t) => {
  const e = p('e')
  const killedAt = Date.now()
  await e.kill()
  procs.delete('e')
  const ms = await waitFor(() => allSee(others('e'), ['e'], 'dead'), BOUND.deadEverywhereWithinMs + SLACK, 'dead everywhere')
  t.ok(Date.now() - killedAt <= BOUND.deadEverywhereWithinMs + SLACK, `dead everywhere after ${ms} ms (bound ${BOUND.deadEverywhereWithinMs} ms)`)
})

t.test('graceful leave: gone everywhere within 1 s', async (t) => {
  const b = p('b')
  const at = Date.now()
  b.send('leave')
  const ms = await waitFor(() => allSee(others('b'), ['b'], 'left'), 1000, 'left everywhere')
  t.ok(Date.now() - at <= 1000, `left everywhere after ${ms} ms`)
  await b.until(() => b.exited, 3000, 'exit after leave')
  procs.delete('b')
})

t.test('mass restart: all five restarted within 2 s (same names and ports) are alive everywhere within 10 periods', async (t) => {
  // e was killed and b left: they come back too, like the others on their old ports
  const seeds = NAMES.map((n) => `127.0.0.1:${ports.get(n)}`)
  const started = Date.now()
  const spawning: Promise<GossipProc>[] = []
  let lastSpawn = 0
  for (const n of NAMES) {
    const old = procs.get(n)
    if (old) await old.kill()
    lastSpawn = Date.now()
    spawning.push(GossipProc.start({ name: n, port: ports.get(n)!, seeds: seeds.filter((s) => !s.endsWith(`:${ports.get(n)}`)), key: KEY }))
    if (n !== NAMES.at(-1)) await new Promise((r) => setTimeout(r, 300))
  }
  t.ok(Date.now() - started <= 2000, `all five killed and respawned within ${Date.now() - started} ms`)
  const fresh = await Promise.all(spawning)
  procs.clear()
  for (const f of fresh) procs.set(f.name, f)
  const lastReady = Math.max(...fresh.map((f) => f.events.find((e) => e.event === 'ready')!.t))
  await waitFor(() => allSee(fresh, NAMES, 'alive'), 10 * T + SLACK, 'all alive everywhere')
  const ms = Date.now() - lastSpawn
  t.ok(ms <= 10 * T + SLACK, `all alive everywhere ${ms} ms after the last process was spawned (${Date.now() - lastReady} ms after it was ready; 10 periods = ${10 * T} ms)`)
  t.ok(
    fresh.every((f) => !f.events.some((e) => e.event === 'change' && e.state === 'dead' && e.t > lastReady + 10 * T)),
    'no member declared dead after the cluster settled',
  )
  await new Promise((r) => setTimeout(r, 10 * T))
  t.ok(allSee(fresh, NAMES, 'alive'), 'and none is stuck dead')
})
