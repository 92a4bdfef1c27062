/**
 * Pipeline layer that feeds the health history: every try's outcome and time to response
 * headers, recorded against the endpoint that served it. Failures are counted as endpoint stats
 * counts them (5xx 500/502/503/504 or an upstream error); a client that left, a request commy
 * refused, or a reset before anything was written are not the endpoint's doing and not recorded.
 * Add it to SidecarOptions.layers.
 */
import type { Clock } from '../clock.js'
import { BadRequestError, ClientAbortedError, UpstreamResetError } from '../errors.js'
import { isFailureStatus } from '../pipeline/endpoint-stats.js'
import type { Layer } from '../pipeline/pipeline.js'
import type { History } from './history.js'

function notTheEndpoints(err: unknown): boolean {
  return err instanceof ClientAbortedError || err instanceof BadRequestError || (err instanceof UpstreamResetError && err.beforeWrite)
}

export function historyLayer(history: History, clock: Clock): Layer {
  return (next) => (attempt) => {
    const t0 = clock.now()
    return next(attempt).then(
      (res) => {
        const now = clock.now()
        history.record(attempt.endpoint, now - t0, !isFailureStatus(res.status), now)
        return res
      },
      (err: unknown) => {
        if (!notTheEndpoints(err)) {
          const now = clock.now()
          history.record(attempt.endpoint, now - t0, false, now)
        }
        throw err
      },
    )
  }
}
