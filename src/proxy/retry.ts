/**
 * The retry loop's mechanics for one route: whether to buffer the request body so that it can be
 * replayed, a fast pre-check on statuses, and the backoff between tries. Whether a failed try is
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
  /** Should the request body be read into memory first so that it can be replayed? */
  shouldBuffer(method: string, contentLength: number): boolean
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
    shouldBuffer: (method, contentLength) =>
      enabled && contentLength > 0 && contentLength <= policy.maxBufferedBody && retriesMethod(policy, method),
    retriesStatus: (status) => enabled && statuses.has(status),
    decide,
    backoffMs: (tries) => {
      const cap = Math.min(policy.backoffMaxMs, policy.backoffBaseMs * 2 ** (tries - 1))
      return Math.floor(random() * cap)
    },
  }
}
