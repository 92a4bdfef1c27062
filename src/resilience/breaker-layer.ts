/**
 * Layer: the endpoint's circuit breaker around each try. `admit()` before sending; the classified
 * outcome is recorded with that admission (a half-open trial's outcome decides the breaker).
 *
 * A refused admission does not normally happen: open breakers and half-open ones with their trial
 * in flight are out of picking. It does in panic mode, where every endpoint is picked: then the
 * request is sent anyway (panic routes to all endpoints, as Envoy does) and nothing is recorded.
 * Outside panic a refusal fails the try with BreakerOpenError, which the retry decider sends to
 * another endpoint without charging the retry budget.
 */
import { BreakerOpenError } from '../errors.js'
import type { Layer, UpstreamResponse } from '../pipeline/pipeline.js'
import { REJECTED } from './breaker.js'
import { asOutcome } from '../pipeline/failure-classifier.js'
import type { ServiceResilience } from './service-resilience.js'

export function breakerLayer(services: (name: string) => ServiceResilience | undefined): Layer {
  return (next) => (attempt) => {
    const s = services(attempt.request.service)
    if (s === undefined) return next(attempt)
    const ep = attempt.endpoint
    const breaker = s.breaker(ep)
    const admission = breaker.admit()
    if (admission === REJECTED) {
      if (s.panic) return next(attempt)
      return Promise.reject(new BreakerOpenError(ep.address))
    }
    let sent: Promise<UpstreamResponse>
    try {
      sent = next(attempt)
    } catch (err) {
      breaker.record(s.verdict(asOutcome(err)), admission)
      throw err
    }
    sent.then(
      (res) => breaker.record(s.verdict(res.status), admission),
      (err: unknown) => breaker.record(s.verdict(asOutcome(err)), admission),
    )
    return sent
  }
}
