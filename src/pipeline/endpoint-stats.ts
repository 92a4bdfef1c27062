/**
 * Layer: keeps the Endpoint stats store current on every try — in-flight (until the response
 * body ends or fails), requests, failures, consecutive failures and time-to-headers latency
 * (peak EWMA). Strategies read these numbers; nothing else writes them.
 *
 * What counts as a failure is decided by the one failure classifier (pipeline/failure-classifier.ts):
 * 5xx statuses and upstream errors count; a client abort, a reset before anything was written
 * (the keep-alive race) and commy's own refusals do not.
 */
import type { Clock } from '../clock.js'
import type { Endpoint } from '../endpoint/endpoint.js'
import { UpstreamTimeoutError } from '../errors.js'
import { asOutcome, classify, type AttemptOutcome } from './failure-classifier.js'
import type { Layer } from './pipeline.js'

export interface EndpointStatsOptions {
  /**
   * While it returns true, latencies are not observed: commy's own event loop is slow, so the
   * time is ours, not the endpoint's (default: never lagging).
   */
  readonly isLagging?: () => boolean
  /**
   * Keep `consecutiveFailures` here (default true). The resilience plugin turns it off: its
   * outlier detection keeps that count (and resets it on ejection).
   */
  readonly consecutiveFailures?: boolean
}

const never = (): boolean => false

export function endpointStats(clock: Clock, options: EndpointStatsOptions = {}): Layer {
  const lagging = options.isLagging ?? never
  const consecutive = options.consecutiveFailures ?? true
  const verdict = (ep: Endpoint, outcome: AttemptOutcome): void => {
    const v = classify(outcome).verdict
    if (v === 'failure') {
      ep.failures++
      if (consecutive) ep.consecutiveFailures++
    } else if (v === 'success' && consecutive) ep.consecutiveFailures = 0
  }
  return (next) => (attempt) => {
    const ep = attempt.endpoint
    ep.inFlight++
    ep.requests++
    const t0 = clock.now()
    const sent = next(attempt)
    // observe the same promise the caller gets (no extra promise in the chain); the
    // rejection handler swallows, the caller still sees the rejection on `sent`
    sent.then(
      (res) => {
        const now = clock.now()
        if (!lagging()) ep.latency.observe(now - t0, now)
        verdict(ep, res.status)
        res.body.onDone(() => {
          ep.inFlight--
        })
      },
      (err: unknown) => {
        ep.inFlight--
        if (err instanceof UpstreamTimeoutError && !lagging()) {
          const now = clock.now()
          ep.latency.observe(now - t0, now)
        }
        verdict(ep, asOutcome(err))
      },
    )
    return sent
  }
}
