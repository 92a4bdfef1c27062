/**
 * The resilience log: each state change once, with the old state, the new one and the reason.
 * Breakers opening, ejections, panic mode (loudly) and an exhausted retry budget at warn; their
 * way back at info. Retries themselves are not logged (they are per request).
 */
import type { Logger } from 'pino'
import type { ResilienceEvents } from './events.js'

/** A retry budget refusing retries is one episode until a retry is granted this long after the last refusal (the budget's window). */
const BUDGET_QUIET_MS = 10_000

export function resilienceLog(logger: Logger, now: () => number): ResilienceEvents {
  /** Services whose retry budget is refusing retries: clock ms of the last refusal (logged once per episode). */
  const exhausted = new Map<string, number>()
  return {
    breakerTransition(e) {
      const fields = { service: e.service, endpoint: e.endpoint, from: e.from, to: e.to, reason: e.reason }
      if (e.to === 'open') logger.warn(fields, `circuit breaker ${e.from} -> open`)
      else logger.info(fields, `circuit breaker ${e.from} -> ${e.to}`)
    },
    ejection(e) {
      logger.warn(
        { service: e.service, endpoint: e.endpoint, from: 'serving', to: 'ejected', reason: e.reason, durationMs: e.durationMs, multiplier: e.multiplier, ejections: e.ejections },
        'endpoint ejected by outlier detection',
      )
    },
    ejectionEnded(e) {
      logger.info({ service: e.service, endpoint: e.endpoint, from: 'ejected', to: 'serving', reason: 'ejection time elapsed' }, 'endpoint back from ejection')
    },
    panic(e) {
      const fields = { service: e.service, from: e.panic ? 'normal' : 'panic', to: e.panic ? 'panic' : 'normal', healthy: e.healthy, serving: e.serving, threshold: e.threshold }
      if (e.panic) {
        logger.warn(
          { ...fields, reason: `${e.healthy} of ${e.serving} endpoints healthy, below panicThreshold ${e.threshold}%` },
          `PANIC MODE: service "${e.service}" routes to every endpoint, unhealthy ones included`,
        )
      } else logger.info({ ...fields, reason: `${e.healthy} of ${e.serving} endpoints healthy` }, `panic mode over for service "${e.service}"`)
    },
    retry(e) {
      if (!e.budgeted) return
      const last = exhausted.get(e.service)
      if (last !== undefined && now() - last >= BUDGET_QUIET_MS) {
        exhausted.delete(e.service)
        logger.info({ service: e.service, from: 'exhausted', to: 'available', reason: `no retry refused for ${BUDGET_QUIET_MS / 1000}s` }, 'retry budget available again')
      }
    },
    budgetExhausted(e) {
      const episode = exhausted.has(e.service)
      exhausted.set(e.service, now())
      if (episode) return
      logger.warn(
        { service: e.service, from: 'available', to: 'exhausted', reason: e.reason, requests: e.stats.requests, retries: e.stats.retries },
        'retry budget exhausted: failed requests are no longer retried',
      )
    },
    lag(e) {
      const fields = { from: e.lagging ? 'ok' : 'lagging', to: e.lagging ? 'lagging' : 'ok', delayMs: Math.round(e.delayMs), thresholdMs: e.thresholdMs }
      if (e.lagging) logger.warn({ ...fields, reason: 'event loop delay above threshold' }, 'event loop lagging: latency penalties and passive ejection paused')
      else logger.info({ ...fields, reason: 'event loop delay back under threshold' }, 'event loop caught up: latency penalties and passive ejection resume')
    },
  }
}
