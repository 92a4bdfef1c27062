/**
 * Explainable routing: for routes with `explain: true`, why this endpoint answered — the strategy
 * and its score for every candidate, each endpoint of the service with its state and breaker,
 * panic mode, the try number, and facts plugins add per service (the resilience plugin adds the
 * retry budget left). Sent as the `x-commy-explain` response header and, when the access log is
 * on, as its `explain` field. Nothing here runs for routes without `explain`.
 *
 * A header has to stay small: scores and endpoints are listed up to MAX_LISTED each (the picked
 * endpoint always among them); `omitted` says how many were left out.
 */
import type { CandidateScore, PickExplanation } from '../balancer/balancer.js'
import type { BreakerKind, Endpoint, EndpointState } from '../endpoint/endpoint.js'
import type { EndpointSnapshot } from '../endpoint/service-endpoints.js'

/** Scores and endpoints listed at most (each). */
export const MAX_LISTED = 24

/** Facts a plugin adds to every explanation of a service's requests (e.g. `{ retryBudget: {...} }`). */
export type ExplainFacts = (service: string) => Readonly<Record<string, unknown>> | undefined

/** One endpoint of the service as the pick saw it. */
export interface EndpointFact {
  readonly address: string
  /** Offered to the strategy (eligible, or everything in panic mode; minus endpoints a retry already tried). */
  readonly candidate: boolean
  readonly state: EndpointState
  readonly breaker: BreakerKind
  readonly inFlight: number
  /** Why it is not eligible (omitted when it is). */
  readonly reason?: string
}

export interface RoutingExplanation {
  readonly strategy: string
  /** `host:port` of the endpoint of the last try; null when none could be picked. */
  readonly picked: string | null
  readonly tries: number
  readonly panic: boolean
  /** The strategy's score of each candidate (its own units; see the strategy's docs). */
  readonly scores: readonly CandidateScore[]
  readonly endpoints: readonly EndpointFact[]
  /** Scores and endpoints not listed (large services). */
  readonly omitted?: { readonly scores: number; readonly endpoints: number }
  readonly note?: string
  /** Plugin facts (e.g. `retryBudget`). */
  readonly [fact: string]: unknown
}

/** Builds the explanation of the last pick of a request. */
export function explainRouting(
  pick: PickExplanation,
  picked: Endpoint | undefined,
  tries: number,
  snapshot: EndpointSnapshot,
  now: number,
  facts: Readonly<Record<string, unknown>> | undefined,
): RoutingExplanation {
  const scored = new Set<string>()
  for (const s of pick.scores) scored.add(s.address)
  const address = picked?.address
  const scores = capped(pick.scores, (s) => s.address === address)
  const listed = capped(snapshot.all, (ep) => ep === picked)
  const endpoints = listed.map((ep): EndpointFact => {
    const e = ep.eligibility(now)
    const fact = { address: ep.address, candidate: scored.has(ep.address), state: e.state, breaker: ep.breaker.kind, inFlight: ep.inFlight }
    return e.eligible ? fact : { ...fact, reason: e.reason }
  })
  const omitted = { scores: pick.scores.length - scores.length, endpoints: snapshot.all.length - listed.length }
  return {
    ...facts,
    strategy: pick.strategy,
    picked: address ?? null,
    tries,
    panic: snapshot.panic,
    scores,
    endpoints,
    ...(omitted.scores > 0 || omitted.endpoints > 0 ? { omitted } : {}),
    ...(pick.note ? { note: pick.note } : {}),
  }
}

/** The first MAX_LISTED items, with the one `keep` matches always among them. */
function capped<T>(list: readonly T[], keep: (item: T) => boolean): readonly T[] {
  if (list.length <= MAX_LISTED) return list
  const out = list.slice(0, MAX_LISTED)
  if (!out.some(keep)) {
    const kept = list.find(keep)
    if (kept !== undefined) out[MAX_LISTED - 1] = kept
  }
  return out
}

/** The header / access-log form: one line of JSON, ASCII only (non-ASCII escaped, as a header needs). */
export function explainText(x: RoutingExplanation): string {
  return JSON.stringify(x).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}
