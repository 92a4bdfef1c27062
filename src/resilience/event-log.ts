/**
 * The resilience log: each state change once, with the old state, the new one and the reason.
 * Breakers opening, ejections, panic mode (loudly) and an exhausted retry budget at warn; their
 * way back at info. Retries themselves are not logged (they are per request).
 */
import type { Logger } from 'pino'
import type { ResilienceEvents } from './events.js'

export function resilienceLog(logger: Logger): ResilienceEvents {
  /** Services whose retry budget is currently refusing retries (logged once per episode). */
  const exhausted = new Set<string>()
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
      if (e.budgeted && exhausted.delete(e.service)) {
        logger.info({ service: e.service, from: 'exhausted', to: 'available', reason: 'retries granted again' }, 'retry budget available again')
      }
    },
    budgetExhausted(e) {
      if (exhausted.has(e.service)) return
      exhausted.add(e.service)
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
