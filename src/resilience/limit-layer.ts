/**
 * Layer: the service's concurrency limit around each try. A free slot is taken without a promise;
 * otherwise the try waits in the FIFO queue (leaving it if the client goes away or the route times
 * out) or fails fast with OverloadedError (COMMY_ERR_OVERLOADED, 503) when the queue is full or
 * the wait is too long. The slot is held until the response body ends (or the try fails).
 */
import type { Attempt, Layer, Send, UpstreamResponse } from '../pipeline/pipeline.js'
import type { ConcurrencyLimit } from './concurrency-limit.js'
import type { ServiceResilience } from './service-resilience.js'

export function limitLayer(services: (name: string) => ServiceResilience | undefined): Layer {
  return (next) => (attempt) => {
    const limit = services(attempt.request.service)?.limit
    if (limit === undefined || limit.unlimited) return next(attempt)
    if (limit.tryAcquire()) return holding(limit, next, attempt)
    return limit.acquire(attempt.signal).then(() => holding(limit, next, attempt))
  }
}

/** Sends while holding a slot of `limit`; gives it back when the body is done or the try failed. */
function holding(limit: ConcurrencyLimit, next: Send, attempt: Attempt): Promise<UpstreamResponse> {
  let sent: Promise<UpstreamResponse>
  try {
    sent = next(attempt)
  } catch (err) {
    limit.release()
    throw err
  }
  sent.then(
    (res) => res.body.onDone(() => limit.release()),
    () => limit.release(),
  )
  return sent
}
