/**
 * Layer: keeps the Endpoint stats store current on every try — in-flight (until the response
 * body ends or fails), requests, failures, consecutive failures and time-to-headers latency
 * (peak EWMA). Strategies read these numbers; nothing else writes them. Upgrades (WebSocket) are
 * counted by the same `TryCounter`.
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

/**
 * How one try is counted on the Endpoint stats store: the endpoint-stats layer counts every
 * proxied try with it, the forwarder every upgrade (WebSocket), so both count alike.
 */
export interface TryCounter {
  /** A try starts on `ep`: one more request, one more in flight. */
  begin(ep: Endpoint): void
  /** The try's outcome is known: failures (and consecutive failures) as the failure classifier says. */
  outcome(ep: Endpoint, outcome: AttemptOutcome): void
  /** The try no longer holds the endpoint (response body ended, try failed, socket closed). */
  end(ep: Endpoint): void
}

export function tryCounter(options: EndpointStatsOptions = {}): TryCounter {
  const consecutive = options.consecutiveFailures ?? true
  return {
    begin(ep) {
      ep.inFlight++
      ep.requests++
    },
    outcome(ep, outcome) {
      const v = classify(outcome).verdict
      if (v === 'failure') {
        ep.failures++
        if (consecutive) ep.consecutiveFailures++
      } else if (v === 'success' && consecutive) ep.consecutiveFailures = 0
    },
    end(ep) {
      ep.inFlight--
    },
  }
}

export function endpointStats(clock: Clock, options: EndpointStatsOptions = {}): Layer {
  const lagging = options.isLagging ?? never
  const tries = tryCounter(options)
  return (next) => (attempt) => {
    const ep = attempt.endpoint
    tries.begin(ep)
    const t0 = clock.now()
    const sent = next(attempt)
    // observe the same promise the caller gets (no extra promise in the chain); the
    // rejection handler swallows, the caller still sees the rejection on `sent`
    sent.then(
      (res) => {
        const now = clock.now()
        if (!lagging()) ep.latency.observe(now - t0, now)
        tries.outcome(ep, res.status)
        res.body.onDone(() => tries.end(ep))
      },
      (err: unknown) => {
        tries.end(ep)
        if (err instanceof UpstreamTimeoutError && !lagging()) {
          const now = clock.now()
          ep.latency.observe(now - t0, now)
        }
        tries.outcome(ep, asOutcome(err))
      },
    )
    return sent
  }
}
