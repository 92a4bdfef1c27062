/**
 * Explainable routing: for routes with `explain: true`, why this endpoint answered — the strategy
 * and its score for every candidate, each endpoint of the service with its state and breaker,
 * panic mode, the try number, and facts plugins add per service (the resilience plugin adds the
 * retry budget left). Sent as the `x-commy-explain` response header and, when the access log is
 * on, as its `explain` field. Nothing here runs for routes without `explain`.
 */
import type { CandidateScore, PickExplanation } from '../balancer/balancer.js'
import type { BreakerState, Endpoint, EndpointState } from '../endpoint/endpoint.js'
import type { EndpointSnapshot } from '../endpoint/service-endpoints.js'

/** Facts a plugin adds to every explanation of a service's requests (e.g. `{ retryBudget: {...} }`). */
export type ExplainFacts = (service: string) => Readonly<Record<string, unknown>> | undefined

/** One endpoint of the service as the pick saw it. */
export interface EndpointFact {
  readonly address: string
  /** Offered to the strategy (eligible, or everything in panic mode; minus endpoints a retry already tried). */
  readonly candidate: boolean
  readonly state: EndpointState
  readonly breaker: BreakerState
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
  const endpoints = snapshot.all.map((ep): EndpointFact => {
    const e = ep.eligibility(now)
    const fact = { address: ep.address, candidate: scored.has(ep.address), state: e.state, breaker: ep.breaker, inFlight: ep.inFlight }
    return e.eligible ? fact : { ...fact, reason: e.reason }
  })
  return {
    ...facts,
    strategy: pick.strategy,
    picked: picked?.address ?? null,
    tries,
    panic: snapshot.panic,
    scores: pick.scores,
    endpoints,
    ...(pick.note ? { note: pick.note } : {}),
  }
}

/** The header / access-log form: one line of JSON, ASCII only (non-ASCII escaped, as a header needs). */
export function explainText(x: RoutingExplanation): string {
  return JSON.stringify(x).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}
