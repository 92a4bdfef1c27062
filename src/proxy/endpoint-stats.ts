/**
 * Layer: keeps the Endpoint stats store current on every try — in-flight (until the response
 * body ends or fails), requests, failures, consecutive failures and time-to-headers latency
 * (peak EWMA). Strategies read these numbers; nothing else writes them.
 *
 * A failure here: a 5xx status (500, 502, 503, 504) or an upstream error, except a client abort
 * and a reset before anything was written (the keep-alive race is not the endpoint's fault).
 */
import type { Clock } from '../clock.js'
import type { Endpoint } from '../endpoint/endpoint.js'
import { ClientAbortedError, UpstreamResetError, UpstreamTimeoutError, BadRequestError } from '../errors.js'
import type { Layer } from './pipeline.js'

function failed(ep: Endpoint): void {
  ep.failures++
  ep.consecutiveFailures++
}

function countsAgainst(err: unknown): boolean {
  if (err instanceof ClientAbortedError || err instanceof BadRequestError) return false
  if (err instanceof UpstreamResetError && err.beforeWrite) return false
  return true
}

export function isFailureStatus(status: number): boolean {
  return status === 500 || status === 502 || status === 503 || status === 504
}

export function endpointStats(clock: Clock): Layer {
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
        ep.latency.observe(now - t0, now)
        if (isFailureStatus(res.status)) failed(ep)
        else ep.consecutiveFailures = 0
        res.body.onDone(() => {
          ep.inFlight--
        })
      },
      (err: unknown) => {
        ep.inFlight--
        if (err instanceof UpstreamTimeoutError) {
          const now = clock.now()
          ep.latency.observe(now - t0, now)
        }
        if (countsAgainst(err)) failed(ep)
      },
    )
    return sent
  }
}
