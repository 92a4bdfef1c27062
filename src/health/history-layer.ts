/**
 * Pipeline layer that feeds the health history: every try's outcome and time to response
 * headers, recorded against the endpoint that served it. What counts is decided by the one failure
 * classifier (pipeline/failure-classifier.ts), as for the breaker, outlier detection and endpoint
 * stats: a `failure` is recorded as an error, a `success` as a good request, and a `neutral`
 * outcome (a client that left, a request commy refused, the keep-alive race, 408/429/501/505) is
 * not the endpoint's doing and not recorded at all. So alerts and the dashboard agree with the
 * breaker. Add it to SidecarOptions.layers.
 */
import type { Clock } from '../clock.js'
import type { Endpoint } from '../endpoint/endpoint.js'
import { asOutcome, classify, type AttemptOutcome } from '../pipeline/failure-classifier.js'
import type { Layer } from '../pipeline/pipeline.js'
import type { History } from './history.js'

export function historyLayer(history: History, clock: Clock): Layer {
  const record = (ep: Endpoint, t0: number, outcome: AttemptOutcome): void => {
    const v = classify(outcome).verdict
    if (v === 'neutral') return
    const now = clock.now()
    history.record(ep, now - t0, v === 'success', now)
  }
  return (next) => (attempt) => {
    const t0 = clock.now()
    return next(attempt).then(
      (res) => {
        record(attempt.endpoint, t0, res.status)
        return res
      },
      (err: unknown) => {
        record(attempt.endpoint, t0, asOutcome(err))
        throw err
      },
    )
  }
}
