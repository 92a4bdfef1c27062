/**
 * Joining that cannot deadlock: the pure transition function, then Membership nodes on a
 * ManualClock: the join timeout, seeds that resolve to nothing or only to this node, and joining
 * that goes on after the node serves as a cluster of one.
 */
import t from 'tap'
import { isJoined, isSettled, nextJoinState, type JoinState } from '../../src/membership/join-state.js'
import { TestCluster, recordingLogger } from '../helpers/gossip-cluster.js'

t.test('nextJoinState: joining settles on an answer, on nobody to ask, or on the timeout; settled states are sticky', async (t) => {
  const joining: JoinState = { kind: 'joining', since: 0 }
  t.same(nextJoinState(joining, { kind: 'attempt', outcome: { kind: 'answered', peers: 2 } }, 5), { kind: 'joined', peers: 2, since: 5 })
  t.equal(nextJoinState(joining, { kind: 'attempt', outcome: { kind: 'silent', tried: 3 } }, 5), joining, 'nobody answered: still joining')
  for (const why of ['unresolved', 'only-self', 'no-seeds'] as const) {
    t.same(nextJoinState(joining, { kind: 'attempt', outcome: { kind: why } }, 5), { kind: 'alone', why, since: 5 }, `${why}: a cluster of one at once`)
  }
  const timedOut = nextJoinState(joining, { kind: 'timeout' }, 30_000)
  t.same(timedOut, { kind: 'alone', why: 'timeout', since: 30_000 })
  t.equal(nextJoinState(timedOut, { kind: 'attempt', outcome: { kind: 'silent', tried: 1 } }, 1), timedOut, 'alone stays alone while nobody answers')
  t.equal(nextJoinState(timedOut, { kind: 'attempt', outcome: { kind: 'unresolved' } }, 1), timedOut)
  t.equal(nextJoinState(timedOut, { kind: 'timeout' }, 1), timedOut)
  const joined = nextJoinState(timedOut, { kind: 'attempt', outcome: { kind: 'answered', peers: 1 } }, 40_000)
  t.same(joined, { kind: 'joined', peers: 1, since: 40_000 }, 'an answer later joins')
  t.equal(nextJoinState(joined, { kind: 'attempt', outcome: { kind: 'unresolved' } }, 1), joined, 'joined is sticky')
  t.equal(nextJoinState(joined, { kind: 'timeout' }, 1), joined)
  t.notOk(isSettled(joining))
  t.ok(isSettled(timedOut) && isSettled(joined))
  t.ok(isJoined(joined))
  t.notOk(isJoined(timedOut), 'a timeout is not joined')
  t.ok(isJoined({ kind: 'alone', why: 'only-self', since: 0 }), 'nobody else to join counts as joined')
})

t.test('a seed that never answers: joining until gossip.joinTimeout, then a cluster of one that keeps trying and joins later', async (t) => {
  const c = new TestCluster({ seed: 11 })
  const a = c.add('a')
  const lines: { level: string; obj: object; msg?: string }[] = []
  const b = c.add('b', { config: { joinTimeoutMs: 5_000 }, extra: { logger: recordingLogger(lines) } }) // seeds: a, not started
  await c.start('b')
  t.equal(b.membership.joinStatus.kind, 'joining')
  await c.run(4_800)
  t.equal(b.membership.joinStatus.kind, 'joining', 'still joining before the timeout')
  await c.run(300)
  t.match(b.membership.joinStatus, { kind: 'alone', why: 'timeout' }, 'a cluster of one once the timeout passed')
  t.notOk(b.membership.joined, 'not joined')
  const warned = lines.filter((l) => l.level === 'warn' && l.msg?.includes('cluster of one'))
  t.equal(warned.length, 1, 'the change is logged once')
  t.match(warned[0]?.obj, { from: 'joining', to: 'alone' })
  await c.start('a')
  const ms = await c.runUntil(() => b.membership.joinStatus.kind === 'joined' && a.membership.stateOf('b') === 'alive', 60_000)
  t.ok(ms >= 0, `joined ${ms} virtual ms after the seed came up (the retry went on)`)
  t.ok(lines.some((l) => l.msg === 'joined the cluster'), 'joining is logged')
  await c.stopAll()
})

t.test('seeds that resolve to nothing: a cluster of one at once; resolved again on every attempt, it joins when the name appears', async (t) => {
  const c = new TestCluster({ seed: 12 })
  const a = c.add('a')
  await c.start('a')
  let hosts: string[] = []
  let asked = 0
  const resolver = { addresses: async () => (asked++, hosts), srv: async () => [] }
  const b = c.add('b', { config: { seeds: [`peers.mesh:${a.net.address.port}`], joinTimeoutMs: 60_000 }, extra: { resolver } })
  await c.start('b')
  t.match(b.membership.joinStatus, { kind: 'alone', why: 'unresolved' }, 'ready without waiting for the timeout')
  await c.run(3_000)
  t.ok(asked >= 3, `the name is resolved again on every attempt (${asked} times in 3 s)`)
  hosts = [a.net.address.host]
  const ms = await c.runUntil(() => b.membership.joinStatus.kind === 'joined' && a.membership.stateOf('b') === 'alive', 30_000)
  t.ok(ms >= 0, `joined ${ms} virtual ms after the name resolved`)
  await c.stopAll()
})

t.test('seeds that are only this node: a cluster of one at once; a second node joins it', async (t) => {
  const c = new TestCluster({ seed: 13 })
  const resolver = { addresses: async () => ['mem'], srv: async () => [] }
  const first = c.add('first', { port: 7946, config: { seeds: ['mem:7946', 'first.mesh:7946'] }, extra: { resolver } })
  const second = c.add('second', { config: { seeds: ['first.mesh:7946'] }, extra: { resolver } })
  await c.start('first')
  t.match(first.membership.joinStatus, { kind: 'alone', why: 'only-self' })
  t.ok(first.membership.joined, 'nobody else to join')
  await c.start('second')
  t.equal(second.membership.joinStatus.kind, 'joined')
  t.ok((await c.runUntil(() => c.allSee(['first', 'second'], 'alive'), 10_000)) >= 0, 'both see each other')
  await c.stopAll()
})
