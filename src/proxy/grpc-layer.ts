/**
 * Layer: a gRPC call answered trailers-only with a non-OK `grpc-status` (the status in the head,
 * the stream ended, no message) becomes a failed try, UpstreamGrpcStatusError carrying the
 * response. Everything above it — endpoint stats, history, outlier detection, breaker, the retry
 * rules — then judges the status with the one failure classifier and the one set of retry rules,
 * exactly as they judge a 503 or a reset; the Call forwards the endpoint's own answer when it is
 * not retried. It sits innermost (just around the transport), so every layer sees the same outcome.
 *
 * A status that comes in trailers after messages is not a try outcome: the response had already
 * started to reach the client, so nothing could be retried; it is recorded for the request
 * (access log, metrics) by the Call when the trailers arrive.
 *
 * Requests that are not gRPC calls pass straight through (one property read).
 */
import { UpstreamGrpcStatusError } from '../errors.js'
import type { Attempt, Layer, Send, UpstreamResponse } from '../pipeline/pipeline.js'
import { grpcStatusOf } from './grpc.js'

/** The trailers-only gRPC status of a response head, or undefined (not trailers-only, or OK). */
export function trailersOnlyStatus(res: UpstreamResponse): number | undefined {
  const status = grpcStatusOf(res.headers)
  return status === undefined || status === 0 ? undefined : status
}

function judged(res: UpstreamResponse): UpstreamResponse | Promise<never> {
  const status = trailersOnlyStatus(res)
  if (status === undefined) return res
  return Promise.reject(new UpstreamGrpcStatusError(res.endpoint.address, status, res))
}

export const grpcStatusLayer: Layer =
  (next: Send) =>
  (attempt: Attempt): Promise<UpstreamResponse> =>
    attempt.request.grpc === true ? next(attempt).then(judged) : next(attempt)
