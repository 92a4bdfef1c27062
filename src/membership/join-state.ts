/**
 * Where a node stands with joining its cluster, as one state machine fed by join attempts and by
 * the join timeout (`gossip.joinTimeout`). A node that has seeds to wait for is `joining`; it is
 * `joined` once a seed answers, or `alone` — a cluster of one that serves and keeps trying to
 * join — when there is nobody else to ask (no seed, seeds that resolve to nothing or only to
 * itself) or when the timeout passed first. This is how memberlist and Consul bootstrap: the first
 * node of a fresh cluster must not wait for peers that wait for it. Both settled states are
 * sticky; only an answer moves `alone` to `joined`. Pure: no timers, no I/O.
 */
import type { JoinOutcome } from './seeds.js'

export type AloneReason = 'no-seeds' | 'only-self' | 'unresolved' | 'timeout'

export type JoinState =
  | { readonly kind: 'joining'; readonly since: number }
  | { readonly kind: 'joined'; readonly peers: number; readonly since: number }
  | { readonly kind: 'alone'; readonly why: AloneReason; readonly since: number }

export type JoinEvent = { readonly kind: 'attempt'; readonly outcome: JoinOutcome } | { readonly kind: 'timeout' }

/** The next state (the same object when nothing changes). */
export function nextJoinState(state: JoinState, event: JoinEvent, now: number): JoinState {
  if (state.kind === 'joined') return state
  if (event.kind === 'timeout') return state.kind === 'joining' ? { kind: 'alone', why: 'timeout', since: now } : state
  const outcome = event.outcome
  switch (outcome.kind) {
    case 'answered':
      return { kind: 'joined', peers: outcome.peers, since: now }
    case 'silent':
      return state
    case 'unresolved':
    case 'only-self':
    case 'no-seeds':
      return state.kind === 'joining' ? { kind: 'alone', why: outcome.kind, since: now } : state
  }
}

/** Serving traffic is fine: joined, or a cluster of one. */
export function isSettled(state: JoinState): boolean {
  return state.kind !== 'joining'
}

/** A seed answered, or there was nobody else to join (no seed, or only this node). */
export function isJoined(state: JoinState): boolean {
  return state.kind === 'joined' || (state.kind === 'alone' && (state.why === 'no-seeds' || state.why === 'only-self'))
}

/** One line for logs and readiness reasons. */
export function describeJoinState(state: JoinState): string {
  switch (state.kind) {
    case 'joining':
      return 'joining: no seed answered yet'
    case 'joined':
      return `joined through ${state.peers} seed(s)`
    case 'alone':
      return `a cluster of one (${ALONE[state.why]})`
  }
}

const ALONE: Record<AloneReason, string> = {
  'no-seeds': 'no seed configured',
  'only-self': 'the seeds are only this node',
  unresolved: 'the seeds resolve to no address',
  timeout: 'no seed answered within gossip.joinTimeout',
}
