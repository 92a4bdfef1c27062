/**
 * The Balancer interface. A balancer chooses one endpoint from the candidates it is given (the
 * service's eligible endpoints, minus those a retry already tried). `pick()` is synchronous,
 * allocation-light and does no I/O. Load data (in-flight, latency, weight) is read from the
 * Endpoint stats store, which the pipeline updates; strategies keep no copies of it.
 */
import type { Endpoint } from '../endpoint/endpoint.js'
import type { Random } from '../clock.js'

export interface PickContext {
  /** Clock ms (for EWMA decay and slow start). */
  readonly now: number
  /** Request key for consistent hashing (undefined: no key, the strategy's fallback applies). */
  readonly hashKey: string | undefined
}

export interface CandidateScore {
  readonly address: string
  readonly score: number
}

/** Why an endpoint was picked (explainable routing). */
export interface PickExplanation {
  readonly strategy: string
  readonly scores: readonly CandidateScore[]
  readonly note?: string
}

export interface Balancer {
  readonly name: string
  /** Returns one of `candidates`, or undefined when it is empty. */
  pick(candidates: readonly Endpoint[], ctx: PickContext): Endpoint | undefined
  /** Optional: scores of the candidates as this strategy sees them, for `explain`. */
  explain?(candidates: readonly Endpoint[], ctx: PickContext): PickExplanation
}

/** What a strategy factory receives: its service's settings and injected randomness. */
export interface BalancerOptions {
  readonly service: string
  readonly random: Random
  /** consistent-hash: balance factor for bounded loads (0 = off). */
  readonly hashBalanceFactor: number
  /** consistent-hash: strategy used for requests without a key. */
  readonly fallback?: Balancer
}

export type BalancerFactory = (options: BalancerOptions) => Balancer
