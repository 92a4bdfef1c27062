/**
 * Retry decisions, in one place. The loop itself (proxy/call.ts) asks `decide()` after every
 * failed try and waits `backoffMs()` before the next one. The seam: pass another `RetryDecider`
 * (e.g. one that also consults a retry budget) to `createRetry`.
 *
 * Rules of the default decider:
 * - never more than `attempts` tries in total;
 * - only conditions listed in `retries.on` (connect-failure, reset, timeout, statuses);
 * - a try that never reached the endpoint (connect failure, reset before write) is safe for any
 *   method; otherwise only the route's `methods` (idempotent ones by default) are retried;
 * - a body that cannot be sent again (streamed and already read) is never replayed.
 */
import type { RetryCondition, RetryPolicyConfig } from '../config/types.js'
import type { Random } from '../clock.js'
import { UpstreamConnectError, UpstreamResetError, UpstreamTimeoutError } from '../errors.js'

/** The outcome of one try: a status (a response arrived) or an error. */
export type TryOutcome = { readonly status: number; readonly error?: undefined } | { readonly status?: undefined; readonly error: Error }

export interface RetryContext {
  readonly policy: RetryPolicyConfig
  readonly method: string
  readonly service: string
  /** Tries made so far (1 after the first). */
  readonly tries: number
  /** The request body can be sent again: no body, a buffered one, or a stream nobody read yet. */
  readonly bodyReplayable: boolean
}

export interface RetryDecision {
  readonly retry: boolean
  readonly reason: string
}

export type RetryDecider = (ctx: RetryContext, outcome: TryOutcome) => RetryDecision

/** The retry condition an outcome falls under, or undefined when it is never retried. */
export function retryCondition(outcome: TryOutcome): RetryCondition | undefined {
  if (outcome.error === undefined) return outcome.status
  const e = outcome.error
  if (e instanceof UpstreamConnectError) return 'connect-failure'
  if (e instanceof UpstreamResetError) return 'reset'
  if (e instanceof UpstreamTimeoutError) return 'timeout'
  return undefined
}

/** Did the failed try leave the endpoint untouched (nothing of the request reached it)? */
export function neverReachedEndpoint(outcome: TryOutcome): boolean {
  const e = outcome.error
  return e instanceof UpstreamConnectError || (e instanceof UpstreamResetError && e.beforeWrite)
}

const decision = (retry: boolean, reason: string): RetryDecision => ({ retry, reason })
const ATTEMPTS_EXHAUSTED = decision(false, 'attempts exhausted')
const NOT_RETRYABLE = decision(false, 'outcome is not retryable')
const BODY_GONE = decision(false, 'request body was streamed and cannot be replayed')
const RETRY = decision(true, 'retryable')

export const decideRetry: RetryDecider = (ctx, outcome) => {
  if (ctx.tries >= ctx.policy.attempts) return ATTEMPTS_EXHAUSTED
  const cond = retryCondition(outcome)
  if (cond === undefined) return NOT_RETRYABLE
  if (!ctx.policy.on.includes(cond)) return decision(false, `${String(cond)} is not in retries.on`)
  if (!ctx.bodyReplayable) return BODY_GONE
  if (!neverReachedEndpoint(outcome) && !ctx.policy.methods.includes(ctx.method)) {
    return decision(false, `method ${ctx.method} is not retried`)
  }
  return RETRY
}

export interface Retry {
  readonly policy: RetryPolicyConfig
  /** More than one try is possible at all. */
  readonly enabled: boolean
  /** Should the request body be read into memory first so that it can be replayed? */
  shouldBuffer(method: string, contentLength: number): boolean
  /** Is a response with this status worth asking `decide` about (fast pre-check)? */
  retriesStatus(status: number): boolean
  decide: RetryDecider
  /** Exponential backoff with full jitter before try `tries + 1`. */
  backoffMs(tries: number): number
}

export function createRetry(policy: RetryPolicyConfig, random: Random, decide: RetryDecider = decideRetry): Retry {
  const enabled = policy.attempts > 1
  const statuses = new Set(policy.on.filter((c): c is number => typeof c === 'number'))
  return {
    policy,
    enabled,
    shouldBuffer: (method, contentLength) =>
      enabled && contentLength > 0 && contentLength <= policy.maxBufferedBody && policy.methods.includes(method),
    retriesStatus: (status) => enabled && statuses.has(status),
    decide,
    backoffMs: (tries) => {
      const cap = Math.min(policy.backoffMaxMs, policy.backoffBaseMs * 2 ** (tries - 1))
      return Math.floor(random() * cap)
    },
  }
}
