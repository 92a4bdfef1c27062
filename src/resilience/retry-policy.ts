/**
 * Whether a failed try may be tried again: a pure function of the route's RetryPolicyConfig and
 * what happened. It decides *safety and policy* only; the retry budget, the backoff pause and the
 * choice of a different endpoint are the caller's next steps.
 *
 * Rules, in order:
 *  1. the client went away, or the route's overall deadline passed: never; a body that was
 *     streamed upstream and not buffered cannot be sent again: never.
 *  2. a reset before any byte was written (the keep-alive race): always safe, for any method and
 *     body, allowed one try beyond `attempts` (so even `attempts: 1` survives the race) and not
 *     charged to the retry budget.
 *  3. `attempts` tries done: stop.
 *  4. the outcome must be one of the route's `on` conditions (statuses, connect-failure, reset,
 *     timeout).
 *  5. a connect failure never reached the endpoint: safe for any method.
 *  6. otherwise the request reached the endpoint: the method must be in `methods` (idempotent ones
 *     by default). So a POST whose body reached the endpoint is replayed only when POST is listed
 *     and the body was buffered.
 */
import type { RetryCondition, RetryPolicyConfig } from '../config/types.js'
import { ClientAbortedError, UpstreamConnectError, UpstreamResetError, UpstreamTimeoutError } from '../errors.js'
import type { AttemptOutcome } from '../pipeline/failure-classifier.js'

export interface TryReport {
  /** Request method (any case). */
  readonly method: string
  /** How many tries have been made, this one included (1 after the first try). */
  readonly tries: number
  readonly outcome: AttemptOutcome
  /** Some of the request body went upstream on this try (false for bodiless requests). */
  readonly bodySent: boolean
  /** The whole body is held in memory (within maxBufferedBody) and can be sent again. */
  readonly bodyBuffered: boolean
  /** Time left before the route's overall timeout; undefined = no overall timeout. */
  readonly remainingMs?: number
}

export interface RetryDecision {
  readonly retry: boolean
  readonly reason: string
  /** The retry must take a token from the retry budget (false for the keep-alive race). */
  readonly budgeted: boolean
}

const no = (reason: string): RetryDecision => ({ retry: false, reason, budgeted: false })
const yes = (reason: string, budgeted = true): RetryDecision => ({ retry: true, reason, budgeted })

/** The `on` condition an outcome matches, or undefined when no condition can match it. */
export function retryCondition(outcome: AttemptOutcome): RetryCondition | undefined {
  if (typeof outcome === 'number') return outcome
  if (outcome instanceof UpstreamConnectError) return 'connect-failure'
  if (outcome instanceof UpstreamResetError) return 'reset'
  if (outcome instanceof UpstreamTimeoutError) return 'timeout'
  return undefined
}

export function decideRetry(policy: RetryPolicyConfig, report: TryReport): RetryDecision {
  const { outcome } = report
  if (outcome instanceof ClientAbortedError) return no('client aborted')
  if (report.remainingMs !== undefined && report.remainingMs <= 0) return no('route timeout reached')
  if (report.bodySent && !report.bodyBuffered) return no('request body already streamed upstream and not buffered')
  if (outcome instanceof UpstreamResetError && outcome.beforeWrite) {
    return report.tries < policy.attempts + 1 ? yes('reset before write (keep-alive race)', false) : no('attempts exhausted')
  }
  if (report.tries >= policy.attempts) return no(policy.attempts <= 1 ? 'retries disabled (attempts: 1)' : 'attempts exhausted')
  const cond = retryCondition(outcome)
  if (cond === undefined) return no(`${outcome instanceof Error ? outcome.name : String(outcome)} is not retryable`)
  if (!policy.on.includes(cond)) return no(typeof cond === 'number' ? `status ${cond} not in retry conditions` : `${cond} not in retry conditions`)
  if (cond === 'connect-failure') return yes('connect failure')
  if (!methodAllowed(policy.methods, report.method)) return no(`method ${report.method.toUpperCase()} is not retried`)
  return yes(typeof cond === 'number' ? `status ${cond}` : cond)
}

function methodAllowed(methods: readonly string[], method: string): boolean {
  for (const m of methods) if (m === method || m.toUpperCase() === method.toUpperCase()) return true
  return false
}
