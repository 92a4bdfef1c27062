/**
 * The circuit breaker's state machine, as one pure function (no timers, no opossum, no I/O).
 * The wrapper (breaker.ts) turns what happens — opossum opening on the error rate, our reset and
 * trial timers, the trial request's classified outcome — into a `BreakerEvent`, and applies the
 * state `nextBreaker()` returns:
 *
 *   closed    --tripped (error rate over threshold)--> open
 *   open      --reset-elapsed-----------------------> half-open (trial free)
 *   half-open --trial-taken-------------------------> half-open (trial in flight)
 *   half-open --trial-released (neutral outcome)----> half-open (trial free)
 *   half-open --trial-succeeded---------------------> closed
 *   half-open --trial-failed / trial-timed-out------> open
 *
 * Every other pair leaves the state as it is (the same object): a trip while not closed, a reset
 * while not open, an outcome of a request that is not the current trial (a straggler).
 */
import type { BreakerKind, BreakerState } from '../endpoint/endpoint.js'

export type { BreakerKind, BreakerState }
export { BREAKER_CLOSED } from '../endpoint/endpoint.js'

export type BreakerEvent =
  /** opossum opened: `failures` of `fires` outcomes in the rolling window of `windowMs` failed. */
  | { readonly type: 'tripped'; readonly at: number; readonly failures: number; readonly fires: number; readonly windowMs: number }
  /** The open state lasted `afterMs` (the reset timeout). */
  | { readonly type: 'reset-elapsed'; readonly at: number; readonly afterMs: number }
  /** A request was admitted as the half-open trial `trial` (an id > 1). */
  | { readonly type: 'trial-taken'; readonly trial: number }
  /** The trial's outcome said nothing about the endpoint (or the breaker stopped): the trial is free again. */
  | { readonly type: 'trial-released'; readonly trial: number }
  | { readonly type: 'trial-succeeded'; readonly trial: number; readonly at: number }
  | { readonly type: 'trial-failed'; readonly trial: number; readonly at: number }
  /** The trial did not report within `afterMs`. */
  | { readonly type: 'trial-timed-out'; readonly trial: number; readonly at: number; readonly afterMs: number }

export function nextBreaker(s: BreakerState, e: BreakerEvent): BreakerState {
  switch (s.kind) {
    case 'closed':
      if (e.type !== 'tripped') return s
      return { kind: 'open', since: e.at, reason: `${e.failures} of ${e.fires} requests failed (${percent(e.failures, e.fires)}%) in ${e.windowMs}ms` }
    case 'open':
      if (e.type !== 'reset-elapsed') return s
      return { kind: 'half-open', since: e.at, reason: `reset timeout of ${e.afterMs}ms elapsed`, trial: 0 }
    case 'half-open':
      return nextHalfOpen(s, e)
  }
}

type HalfOpen = Extract<BreakerState, { kind: 'half-open' }>

function nextHalfOpen(s: HalfOpen, e: BreakerEvent): BreakerState {
  switch (e.type) {
    case 'trial-taken':
      return s.trial === 0 ? { ...s, trial: e.trial } : s
    case 'trial-released':
      return s.trial !== 0 && s.trial === e.trial ? { ...s, trial: 0 } : s
    case 'trial-succeeded':
      return s.trial !== 0 && s.trial === e.trial ? { kind: 'closed', since: e.at, reason: 'trial request succeeded' } : s
    case 'trial-failed':
      return s.trial !== 0 && s.trial === e.trial ? { kind: 'open', since: e.at, reason: 'trial request failed' } : s
    case 'trial-timed-out':
      return s.trial !== 0 && s.trial === e.trial ? { kind: 'open', since: e.at, reason: `trial request did not report within ${e.afterMs}ms` } : s
    case 'tripped':
    case 'reset-elapsed':
      return s
  }
}

/** part / whole × 100, one decimal (0 when whole is 0). */
export function percent(part: number, whole: number): number {
  return whole > 0 ? Math.round((part / whole) * 1000) / 10 : 0
}
