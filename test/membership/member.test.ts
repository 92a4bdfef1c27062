/** The precedence rules (one pure function) for every state pair that matters. */
import t from 'tap'
import { decide, EMPTY_META, type Claim, type Member, type MemberState } from '../../src/membership/member.js'

const ctx = { self: 'me', now: 100, leaving: false }

function member(state: MemberState, incarnation: number, extra: Partial<Member> = {}): Member {
  return { name: 'x', host: '10.0.0.1', port: 7946, state, incarnation, zone: '', adminAddress: '', meta: EMPTY_META, changedAt: 0, ...extra }
}

function alive(incarnation: number, extra: Partial<Claim> = {}): Claim {
  return { type: 'alive', name: 'x', incarnation, host: '10.0.0.1', port: 7946, zone: '', adminAddress: '', meta: EMPTY_META, ...extra } as Claim
}
const suspect = (incarnation: number, from = 'y'): Claim => ({ type: 'suspect', name: 'x', incarnation, from })
const dead = (incarnation: number, from = 'y'): Claim => ({ type: 'dead', name: 'x', incarnation, from })
const left = (incarnation: number): Claim => ({ type: 'left', name: 'x', incarnation })

function kind(current: Member | undefined, claim: Claim, c = ctx): string {
  const v = decide(current, claim, c)
  return v.kind === 'apply' ? `apply:${v.next.state}@${v.next.incarnation}` : v.kind
}

t.test('unknown members: only alive teaches us one', async (t) => {
  t.equal(kind(undefined, alive(0)), 'apply:alive@0')
  t.equal(kind(undefined, suspect(0)), 'ignore')
  t.equal(kind(undefined, dead(3)), 'ignore')
  t.equal(kind(undefined, left(3)), 'ignore')
})

t.test('alive: only a higher incarnation wins', async (t) => {
  t.equal(kind(member('alive', 2), alive(3)), 'apply:alive@3')
  t.equal(kind(member('alive', 2), alive(2)), 'ignore')
  t.equal(kind(member('alive', 2), alive(1)), 'ignore')
  t.equal(kind(member('suspect', 2), alive(3)), 'apply:alive@3', 'refutes a suspicion')
  t.equal(kind(member('suspect', 2), alive(2)), 'ignore', 'the same incarnation does not refute')
  t.equal(kind(member('dead', 2), alive(2)), 'ignore', 'tombstone holds against a stale alive')
  t.equal(kind(member('dead', 2), alive(3)), 'apply:alive@3', 'a higher incarnation rejoins')
  t.equal(kind(member('left', 2), alive(2)), 'ignore')
  t.equal(kind(member('left', 2), alive(3)), 'apply:alive@3')
  const v = decide(member('dead', 2), alive(5, { port: 9000 }), ctx)
  t.equal(v.kind === 'apply' && v.next.port, 9000, 'a rejoin may come from a new address')
  t.equal(v.kind === 'apply' && v.next.changedAt, 100, 'state change time recorded')
})

t.test('suspect: same or higher incarnation of a live member; repeats are confirmations', async (t) => {
  t.equal(kind(member('alive', 2), suspect(2)), 'apply:suspect@2')
  t.equal(kind(member('alive', 2), suspect(3)), 'apply:suspect@3')
  t.equal(kind(member('alive', 2), suspect(1)), 'ignore')
  t.same(decide(member('suspect', 2), suspect(2, 'z'), ctx), { kind: 'confirm', from: 'z' })
  t.equal(kind(member('suspect', 2), suspect(4)), 'apply:suspect@4')
  t.equal(kind(member('dead', 2), suspect(5)), 'ignore', 'no suspicion of the dead')
  t.equal(kind(member('left', 2), suspect(5)), 'ignore')
})

t.test('dead and left: same or higher incarnation; left outranks dead', async (t) => {
  t.equal(kind(member('alive', 2), dead(2)), 'apply:dead@2')
  t.equal(kind(member('suspect', 2), dead(2)), 'apply:dead@2')
  t.equal(kind(member('alive', 2), dead(1)), 'ignore')
  t.equal(kind(member('dead', 2), dead(2)), 'ignore')
  t.equal(kind(member('alive', 2), left(2)), 'apply:left@2')
  t.equal(kind(member('dead', 2), left(2)), 'apply:left@2')
  t.equal(kind(member('left', 2), dead(2)), 'ignore')
  t.equal(kind(member('left', 2), left(2)), 'ignore')
  t.equal(kind(member('left', 2), dead(3)), 'apply:dead@3', 'rejoined and died since')
})

t.test('claims about ourselves are refuted when they could win', async (t) => {
  const me = member('alive', 4, { name: 'me' })
  const self = (c: Claim): Claim => ({ ...c, name: 'me' })
  t.equal(kind(me, self(suspect(4))), 'refute')
  t.equal(kind(me, self(suspect(3))), 'ignore', 'stale suspicion')
  t.equal(kind(me, self(dead(9))), 'refute')
  t.equal(kind(me, self(left(4))), 'refute', 'told we left while we did not')
  t.equal(kind(me, self(alive(7))), 'refute', 'a newer incarnation of us: we restarted')
  t.equal(kind(me, self(alive(4))), 'ignore', 'our own alive')
  t.equal(kind(me, self(alive(4, { port: 1 }))), 'refute', 'a conflicting alive at our incarnation')
  t.equal(kind(me, self(dead(9)), { ...ctx, leaving: true }), 'ignore', 'leaving: nothing to refute')
  t.equal(kind(me, self(suspect(9)), { ...ctx, leaving: true }), 'ignore')
})
