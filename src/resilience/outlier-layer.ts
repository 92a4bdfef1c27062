/**
 * Layer: tells the service's outlier detection how each try went (the classified outcome), so
 * that consecutive failures eject the endpoint. The detector ignores failures while commy's own
 * event loop lags.
 */
import type { Layer } from '../pipeline/pipeline.js'
import { asOutcome, classify } from '../pipeline/failure-classifier.js'
import type { ServiceResilience } from './service-resilience.js'

export function outlierLayer(services: (name: string) => ServiceResilience | undefined): Layer {
  return (next) => (attempt) => {
    const s = services(attempt.request.service)
    if (s === undefined) return next(attempt)
    const ep = attempt.endpoint
    const sent = next(attempt)
    sent.then(
      (res) => {
        const c = classify(res.status)
        s.outlier.record(ep, c.verdict, c.reason)
      },
      (err: unknown) => {
        const c = classify(asOutcome(err))
        s.outlier.record(ep, c.verdict, c.reason)
      },
    )
    return sent
  }
}
