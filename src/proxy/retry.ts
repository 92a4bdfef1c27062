/**
 * The retry loop's mechanics for one route: how much of a request body is worth buffering so that
 * it can be replayed, a fast pre-check on statuses, and the backoff between tries. Whether a failed try is
 * tried again is decided by the one set of retry rules (pipeline/retry-rules.ts), or by a decider
 * wrapped around them (the resilience plugin's retry budget).
 */
import type { RetryPolicyConfig } from '../config/types.js'
import type { Random } from '../clock.js'
import { decideRetry, retriesMethod, type RetryDecider } from '../pipeline/retry-rules.js'

export interface Retry {
  readonly policy: RetryPolicyConfig
  /** More than one try is possible at all. */
  readonly enabled: boolean
  /**
   * Bytes of a request body worth holding in memory so that a retry can replay it: the policy's
   * `maxBufferedBody` when this method may be tried more than once, else 0. (How much of a body
   * is read first is decided in one place, proxy/request-body.ts `bufferLimit`.)
   */
  replayLimit(method: string): number
  /**
   * Is a response with this status worth asking `decide` about (fast pre-check)? A status is only
   * ever retried when it is in `on` and more than one try is allowed.
   */
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
    replayLimit: (method) => (enabled && retriesMethod(policy, method) ? policy.maxBufferedBody : 0),
    retriesStatus: (status) => enabled && statuses.has(status),
    decide,
    backoffMs: (tries) => {
      const cap = Math.min(policy.backoffMaxMs, policy.backoffBaseMs * 2 ** (tries - 1))
      return Math.floor(random() * cap)
    },
  }
}
