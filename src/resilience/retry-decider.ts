/**
 * Retries with a budget: the data plane's RetryDecider built from the resilience retry policy
 * (retry-policy.ts: safety and policy) and the service's retry budget (retry-budget.ts: how many).
 * `budgetLayer` counts every original request (try 1) into the budget.
 *
 * A try refused by a breaker (BreakerOpenError: nothing was sent) goes to another endpoint like the
 * keep-alive race: any method, one try beyond `attempts`, not charged to the budget.
 * A retry the budget refuses leaves the last failure as the answer (a 503 from the upstream, or the
 * typed error of the last try) and is reported as `budgetExhausted`.
 */
import { BreakerOpenError } from '../errors.js'
import type { Layer } from '../proxy/pipeline.js'
import type { RetryDecider, RetryDecision } from '../proxy/retry.js'
import type { ResilienceEventHub } from './events.js'
import { decideRetry } from './retry-policy.js'
import type { ServiceResilience } from './service-resilience.js'

const BUDGET_EXHAUSTED: RetryDecision = Object.freeze({ retry: false, reason: 'retry budget exhausted' })
const REFUSED_BY_BREAKER: RetryDecision = Object.freeze({ retry: true, reason: 'breaker refused the endpoint: another one' })
const NO_MORE_ENDPOINTS: RetryDecision = Object.freeze({ retry: false, reason: 'breakers refused every try' })

export function budgetedRetryDecider(services: (name: string) => ServiceResilience | undefined, events: ResilienceEventHub): RetryDecider {
  return (ctx, outcome) => {
    const error = outcome.error
    if (error instanceof BreakerOpenError) {
      return ctx.bodyReplayable && ctx.tries <= ctx.policy.attempts ? REFUSED_BY_BREAKER : NO_MORE_ENDPOINTS
    }
    const d = decideRetry(ctx.policy, {
      method: ctx.method,
      tries: ctx.tries,
      outcome: error !== undefined ? error : outcome.status,
      // a replayable body is either absent, buffered, or a stream nobody has read yet
      bodySent: !ctx.bodyReplayable,
      bodyBuffered: false,
    })
    if (!d.retry) return d
    if (d.budgeted) {
      const budget = services(ctx.service)?.budget
      if (budget !== undefined && !budget.tryAcquireRetry()) {
        events.emit('budgetExhausted', { service: ctx.service, method: ctx.method, tries: ctx.tries, reason: d.reason, stats: budget.stats() })
        return BUDGET_EXHAUSTED
      }
    }
    events.emit('retry', { service: ctx.service, method: ctx.method, tries: ctx.tries, reason: d.reason, budgeted: d.budgeted })
    return d
  }
}

/** Layer: counts each original request (its first try) into the service's retry budget. */
export function budgetLayer(services: (name: string) => ServiceResilience | undefined): Layer {
  return (next) => (attempt) => {
    if (attempt.try === 1) services(attempt.request.service)?.budget.recordRequest()
    return next(attempt)
  }
}
