import t from 'tap'
import { BREAKER_CLOSED, nextBreaker, percent, type BreakerEvent, type BreakerState } from '../../src/resilience/breaker-state.js'

const closed: BreakerState = { kind: 'closed', since: 5, reason: 'trial request succeeded' }
const open: BreakerState = { kind: 'open', since: 10, reason: '20 of 20 requests failed (100%) in 10000ms' }
const halfFree: BreakerState = { kind: 'half-open', since: 20, reason: 'reset timeout of 10000ms elapsed', trial: 0 }
const halfBusy: BreakerState = { kind: 'half-open', since: 20, reason: 'reset timeout of 10000ms elapsed', trial: 7 }

const E = {
  tripped: { type: 'tripped', at: 100, failures: 12, fires: 20, windowMs: 10_000 },
  reset: { type: 'reset-elapsed', at: 100, afterMs: 10_000 },
  taken: { type: 'trial-taken', trial: 9 },
  released: { type: 'trial-released', trial: 7 },
  succeeded: { type: 'trial-succeeded', trial: 7, at: 100 },
  failed: { type: 'trial-failed', trial: 7, at: 100 },
  timedOut: { type: 'trial-timed-out', trial: 7, at: 100, afterMs: 2_000 },
  otherSucceeded: { type: 'trial-succeeded', trial: 3, at: 100 },
  otherFailed: { type: 'trial-failed', trial: 3, at: 100 },
  otherReleased: { type: 'trial-released', trial: 3 },
  otherTimedOut: { type: 'trial-timed-out', trial: 3, at: 100, afterMs: 2_000 },
} satisfies Record<string, BreakerEvent>

type Expect = BreakerState | 'same'

// state × event → state ('same': the very same object, nothing changed)
const table: [string, BreakerState, keyof typeof E, Expect][] = [
  ['closed', closed, 'tripped', { kind: 'open', since: 100, reason: '12 of 20 requests failed (60%) in 10000ms' }],
  ['closed', closed, 'reset', 'same'],
  ['closed', closed, 'taken', 'same'],
  ['closed', closed, 'released', 'same'],
  ['closed', closed, 'succeeded', 'same'],
  ['closed', closed, 'failed', 'same'],
  ['closed', closed, 'timedOut', 'same'],

  ['open', open, 'tripped', 'same'],
  ['open', open, 'reset', { kind: 'half-open', since: 100, reason: 'reset timeout of 10000ms elapsed', trial: 0 }],
  ['open', open, 'taken', 'same'],
  ['open', open, 'released', 'same'],
  ['open', open, 'succeeded', 'same'],
  ['open', open, 'failed', 'same'],
  ['open', open, 'timedOut', 'same'],

  ['half-open, trial free', halfFree, 'tripped', 'same'],
  ['half-open, trial free', halfFree, 'reset', 'same'],
  ['half-open, trial free', halfFree, 'taken', { ...halfFree, trial: 9 }],
  ['half-open, trial free', halfFree, 'released', 'same'],
  ['half-open, trial free', halfFree, 'succeeded', 'same'],
  ['half-open, trial free', halfFree, 'failed', 'same'],
  ['half-open, trial free', halfFree, 'timedOut', 'same'],

  ['half-open, trial 7 in flight', halfBusy, 'tripped', 'same'],
  ['half-open, trial 7 in flight', halfBusy, 'reset', 'same'],
  ['half-open, trial 7 in flight', halfBusy, 'taken', 'same'],
  ['half-open, trial 7 in flight', halfBusy, 'released', { ...halfBusy, trial: 0 }],
  ['half-open, trial 7 in flight', halfBusy, 'succeeded', { kind: 'closed', since: 100, reason: 'trial request succeeded' }],
  ['half-open, trial 7 in flight', halfBusy, 'failed', { kind: 'open', since: 100, reason: 'trial request failed' }],
  ['half-open, trial 7 in flight', halfBusy, 'timedOut', { kind: 'open', since: 100, reason: 'trial request did not report within 2000ms' }],
  ['half-open, trial 7 in flight', halfBusy, 'otherSucceeded', 'same'],
  ['half-open, trial 7 in flight', halfBusy, 'otherFailed', 'same'],
  ['half-open, trial 7 in flight', halfBusy, 'otherReleased', 'same'],
  ['half-open, trial 7 in flight', halfBusy, 'otherTimedOut', 'same'],
]

t.test('nextBreaker: every state × event', async (t) => {
  for (const [name, state, event, expected] of table) {
    const next = nextBreaker(state, E[event])
    if (expected === 'same') t.equal(next, state, `${name} + ${event}: unchanged`)
    else t.strictSame(next, expected, `${name} + ${event}: ${expected.kind}`)
  }
})

t.test('nextBreaker is pure: the input state is never changed', async (t) => {
  const s = Object.freeze({ ...halfBusy })
  t.doesNotThrow(() => nextBreaker(s, E.released))
  t.equal(s.trial, 7)
})

t.test('a full cycle from the initial state', async (t) => {
  let s = BREAKER_CLOSED
  const kinds: string[] = [s.kind]
  for (const e of [E.tripped, E.reset, { type: 'trial-taken', trial: 7 } as const, E.failed, E.reset, { type: 'trial-taken', trial: 8 } as const, { type: 'trial-succeeded', trial: 8, at: 300 } as const]) {
    const next = nextBreaker(s, e)
    if (next.kind !== s.kind) kinds.push(next.kind)
    s = next
  }
  t.same(kinds, ['closed', 'open', 'half-open', 'open', 'half-open', 'closed'])
})

t.test('percent', async (t) => {
  t.equal(percent(1, 3), 33.3)
  t.equal(percent(0, 0), 0)
})
