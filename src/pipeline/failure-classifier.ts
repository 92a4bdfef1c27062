/**
 * The one failure classifier: what an attempt's outcome says about the endpoint that served it.
 * Breaker, outlier detection and the admin view all read this verdict; nothing else decides
 * whether an outcome counts against an endpoint.
 *
 * - `failure`: counts against the endpoint (breaker error %, consecutive errors for ejection).
 * - `success`: the endpoint answered as a working server does (also resets consecutive errors).
 * - `neutral`: says nothing about the endpoint (the client, commy itself, or the keep-alive race).
 *
 * gRPC calls: a trailers-only answer with a non-OK `grpc-status` arrives as UpstreamGrpcStatusError
 * (proxy/grpc-layer.ts) and is judged by its status (rows `grpc-*`).
 *
 * `classify()` returns one of the frozen rows of `FAILURE_CLASSIFIER_TABLE` (no allocation).
 */
import {
  BreakerOpenError,
  ClientAbortedError,
  CommyError,
  UpstreamConnectError,
  UpstreamGrpcStatusError,
  UpstreamIdentityError,
  UpstreamProtocolError,
  UpstreamResetError,
  UpstreamTimeoutError,
} from '../errors.js'
import { GrpcStatus } from './grpc-status.js'

export type Verdict = 'success' | 'failure' | 'neutral'

/** What one try produced: the upstream's status code, or the typed error it ended with. */
export type AttemptOutcome = number | Error

export interface Classification {
  readonly verdict: Verdict
  /** Short, stable reason (shown in the admin view and logs). */
  readonly reason: string
}

export interface ClassifierRow extends Classification {
  /** What outcome the row covers, in words (for docs and the admin view). */
  readonly outcome: string
  /** Why it is classified so. */
  readonly why: string
  /** A representative outcome (the tests check `classify(example)` returns this row). */
  readonly example: AttemptOutcome
}

const row = (outcome: string, verdict: Verdict, reason: string, why: string, example: AttemptOutcome): ClassifierRow =>
  Object.freeze({ outcome, verdict, reason, why, example })

const EP = '127.0.0.1:1'

const R = {
  informational: row('status 100-199', 'success', 'status-1xx', 'the endpoint answered', 101),
  ok: row('status 200-299', 'success', 'status-2xx', 'the endpoint answered', 200),
  redirect: row('status 300-399', 'success', 'status-3xx', 'the endpoint answered', 302),
  requestTimeout: row('status 408', 'neutral', 'status-408', 'the client was too slow sending its request; nothing wrong with the endpoint is known', 408),
  tooMany: row('status 429', 'neutral', 'status-429', 'the endpoint is shedding load on purpose: not a fault to eject for, not proof of health either', 429),
  clientError: row('status 400-499 (other)', 'success', 'status-4xx', 'the request was wrong, the endpoint worked (as Envoy: a 4xx resets consecutive 5xx)', 404),
  notImplemented: row('status 501, 505', 'neutral', 'status-501-505', 'a deliberate answer about the request (method or HTTP version), the same on every endpoint', 501),
  serverError: row('status 500, 502, 503, 504 and other 5xx', 'failure', 'status-5xx', 'the endpoint failed to serve', 503),
  invalidStatus: row('status outside 100-599', 'failure', 'status-invalid', 'not a valid HTTP answer', 999),
  identity: row('UpstreamIdentityError', 'failure', 'identity-mismatch', 'a mesh endpoint presented another identity than its service (an impostor or a misconfigured node); it is also taken out of picking', new UpstreamIdentityError(EP, 'spiffe://commy/service/a', 'spiffe://commy/service/b')),
  connect: row('UpstreamConnectError', 'failure', 'connect-error', 'refused, unreachable or connect timeout', new UpstreamConnectError(EP)),
  resetBeforeWrite: row('UpstreamResetError (unwritten, idle-race)', 'neutral', 'reset-before-write', 'never written, or the keep-alive race: a reused idle socket closed before any byte of the answer', new UpstreamResetError(EP, 'idle-race')),
  reset: row('UpstreamResetError (written)', 'failure', 'reset', 'the endpoint dropped a request it had started to receive', new UpstreamResetError(EP, 'written')),
  timeout: row('UpstreamTimeoutError', 'failure', 'timeout', 'the endpoint did not answer in time (per-try or route timeout)', new UpstreamTimeoutError(EP, 1000)),
  protocol: row('UpstreamProtocolError', 'failure', 'protocol-error', 'the endpoint answered with invalid HTTP', new UpstreamProtocolError(EP)),
  grpcFailure: row('UpstreamGrpcStatusError: UNKNOWN 2, DEADLINE_EXCEEDED 4, INTERNAL 13, UNAVAILABLE 14, DATA_LOSS 15', 'failure', 'grpc-failure', 'a gRPC endpoint that cannot serve (as Envoy and Linkerd count them: the 5xx of gRPC)', new UpstreamGrpcStatusError(EP, 14, undefined)),
  grpcShed: row('UpstreamGrpcStatusError: RESOURCE_EXHAUSTED 8', 'neutral', 'grpc-resource-exhausted', 'shedding load on purpose (the 429 of gRPC)', new UpstreamGrpcStatusError(EP, 8, undefined)),
  grpcDeliberate: row('UpstreamGrpcStatusError: CANCELLED 1, UNIMPLEMENTED 12', 'neutral', 'grpc-cancelled-unimplemented', 'the call was cancelled, or a deliberate answer about the method that every endpoint gives alike (the 501 of gRPC)', new UpstreamGrpcStatusError(EP, 12, undefined)),
  grpcAppError: row('UpstreamGrpcStatusError: any other status (NOT_FOUND, INVALID_ARGUMENT, PERMISSION_DENIED …)', 'success', 'grpc-app-error', 'the call was wrong, the endpoint worked (the 4xx of gRPC)', new UpstreamGrpcStatusError(EP, 5, undefined)),
  clientAborted: row('ClientAbortedError', 'neutral', 'client-aborted', 'the downstream client went away', new ClientAbortedError()),
  local: row('other CommyError (breaker open, overloaded, no endpoint, budget, draining)', 'neutral', 'local', 'decided by commy before or without reaching the endpoint', new BreakerOpenError(EP)),
  unclassified: row('any other error', 'neutral', 'unclassified', 'foreign errors are converted at the transport; an unconverted one is our bug, not the endpoint\'s', new TypeError('x')),
} as const

/** Every row, in the order `classify()` tests them. */
export const FAILURE_CLASSIFIER_TABLE: readonly ClassifierRow[] = Object.freeze(Object.values(R))

function classifyStatus(status: number): ClassifierRow {
  if (status >= 200 && status < 300) return R.ok
  if (status >= 500 && status < 600) return status === 501 || status === 505 ? R.notImplemented : R.serverError
  if (status >= 400 && status < 500) return status === 408 ? R.requestTimeout : status === 429 ? R.tooMany : R.clientError
  if (status >= 300 && status < 400) return R.redirect
  if (status >= 100 && status < 200) return R.informational
  return R.invalidStatus
}

function classifyGrpc(status: number): ClassifierRow {
  switch (status) {
    case GrpcStatus.UNKNOWN:
    case GrpcStatus.DEADLINE_EXCEEDED:
    case GrpcStatus.INTERNAL:
    case GrpcStatus.UNAVAILABLE:
    case GrpcStatus.DATA_LOSS:
      return R.grpcFailure
    case GrpcStatus.RESOURCE_EXHAUSTED:
      return R.grpcShed
    case GrpcStatus.CANCELLED:
    case GrpcStatus.UNIMPLEMENTED:
      return R.grpcDeliberate
    default:
      return R.grpcAppError
  }
}

function classifyError(err: Error): ClassifierRow {
  if (err instanceof UpstreamGrpcStatusError) return classifyGrpc(err.grpcStatus)
  if (err instanceof UpstreamResetError) return err.beforeAnswer ? R.resetBeforeWrite : R.reset
  if (err instanceof UpstreamIdentityError) return R.identity
  if (err instanceof UpstreamConnectError) return R.connect
  if (err instanceof UpstreamTimeoutError) return R.timeout
  if (err instanceof UpstreamProtocolError) return R.protocol
  if (err instanceof ClientAbortedError) return R.clientAborted
  if (err instanceof CommyError) return R.local
  return R.unclassified
}

/** The verdict on one attempt's outcome. Pure; returns a shared frozen object. */
export function classify(outcome: AttemptOutcome): Classification {
  return typeof outcome === 'number' ? classifyStatus(outcome) : classifyError(outcome)
}

const NOT_AN_ERROR = new Error('a non-Error value was thrown')

/** A rejection reason as an outcome (something thrown that is not an Error classifies as unclassified). */
export function asOutcome(err: unknown): AttemptOutcome {
  return err instanceof Error ? err : NOT_AN_ERROR
}
