/**
 * The retry rules, in one place: whether a failed try may be tried again, as a pure function of
 * the route's RetryPolicyConfig and what happened. The retry loop (proxy/call.ts) asks after every
 * failed try; without the resilience plugin `decideRetry` is the decider, with it the plugin wraps
 * `decideRetry` in its retry budget and breaker-refusal rule (resilience/retry-decider.ts). Either
 * way the safety decisions are these. Backoff, buffering and the choice of another endpoint are
 * the loop's business (proxy/retry.ts).
 *
 * Rules, in order:
 *  1. the client went away: never. A body that was streamed upstream and not buffered cannot be
 *     sent again: never.
 *  2. a mesh endpoint that presented another identity (UpstreamIdentityError: found in the TLS
 *     handshake, nothing of the request was sent) and a reset before any byte of the answer (UpstreamResetError `unwritten` or `idle-race`) gets
 *     one try beyond `attempts` (so even `attempts: 1` survives the keep-alive race), not charged
 *     to the retry budget, when nothing of the request left this process (`unwritten`: any
 *     method) or the request is safe to repeat (GET, HEAD, OPTIONS, TRACE: the race's request may
 *     have reached the endpoint, so a POST, PATCH, PUT or DELETE is never repeated for free, as in
 *     Go's net/http). Other methods fall through to the rules below like any reset: retried only
 *     when the route's policy allows it (`attempts`, `on: reset`, `methods`).
 *  3. `attempts` tries done: stop.
 *  4. the outcome must be one of the route's `on` conditions (statuses, connect-failure, reset,
 *     timeout; for gRPC calls answered trailers-only: unavailable, resource-exhausted, cancelled,
 *     deadline-exceeded).
 *  5. a connect failure never reached the endpoint: safe for any method. A gRPC condition is too
 *     (every gRPC call is a POST; listing the condition says the calls are safe to repeat, as in
 *     Envoy's `retry_on: unavailable` and gRPC's own retry policy; nothing reached the client, as
 *     the status came before any message).
 *  6. otherwise the request reached the endpoint: the method must be in `methods` (idempotent ones
 *     by default). So a POST whose body reached the endpoint is replayed only when POST is listed
 *     and the body was buffered.
 *
 * The route's overall deadline is not a rule here: its timer cancels the call (and any pending
 * backoff) itself, so no decision is ever asked after it.
 */
import type { GrpcRetryCondition, RetryCondition, RetryPolicyConfig } from '../config/types.js'
import { ClientAbortedError, UpstreamConnectError, UpstreamGrpcStatusError, UpstreamIdentityError, UpstreamResetError, UpstreamTimeoutError } from '../errors.js'
import type { AttemptOutcome } from './failure-classifier.js'
import { GrpcStatus } from './grpc-status.js'

/**
 * The request body as the next try would find it: `none`, `buffered` in memory, a stream nobody
 * has read yet (`unread`), or a stream a try has already consumed (`streamed`: cannot be replayed).
 */
export type BodyState = 'none' | 'buffered' | 'unread' | 'streamed'

/** What the decider knows about the request after a failed try. */
export interface RetryContext {
  readonly policy: RetryPolicyConfig
  /** Request method (any case). */
  readonly method: string
  readonly service: string
  /** How many tries have been made, this one included (1 after the first try). */
  readonly tries: number
  readonly body: BodyState
}

export interface RetryDecision {
  readonly retry: boolean
  readonly reason: string
  /** The retry must take a token from the retry budget (false for the keep-alive race). */
  readonly budgeted: boolean
}

/** Decides after a failed try (its status or typed error) whether to try again. */
export type RetryDecider = (ctx: RetryContext, outcome: AttemptOutcome) => RetryDecision

const no = (reason: string): RetryDecision => Object.freeze({ retry: false, reason, budgeted: false })
const yes = (reason: string, budgeted = true): RetryDecision => Object.freeze({ retry: true, reason, budgeted })

const CLIENT_ABORTED = no('client aborted')
const BODY_STREAMED = no('request body already streamed upstream and not buffered')
const ATTEMPTS_EXHAUSTED = no('attempts exhausted')
const RETRIES_DISABLED = no('retries disabled (attempts: 1)')
const KEEP_ALIVE_RACE = yes('reset before write (keep-alive race)', false)
const UNWRITTEN = yes('reset before the request was written', false)
const IMPOSTOR = yes('endpoint presented another identity (nothing was sent): another endpoint', false)

/** Methods safe to repeat without asking (RFC 9110 §9.2.1): the keep-alive race's free try. */
const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE'])
const CONNECT_FAILURE = yes('connect failure')

/** The body can be sent again on another try (none, buffered, or a stream nobody read yet). */
export function bodyReplayable(body: BodyState): boolean {
  return body !== 'streamed'
}

/** The `on` condition an outcome matches, or undefined when no condition can match it. */
export function retryCondition(outcome: AttemptOutcome): RetryCondition | undefined {
  if (typeof outcome === 'number') return outcome
  if (outcome instanceof UpstreamConnectError) return 'connect-failure'
  if (outcome instanceof UpstreamResetError) return 'reset'
  if (outcome instanceof UpstreamTimeoutError) return 'timeout'
  if (outcome instanceof UpstreamGrpcStatusError) return grpcCondition(outcome.grpcStatus)
  return undefined
}

/** The retry condition a gRPC status names, if any. */
export function grpcCondition(status: number): GrpcRetryCondition | undefined {
  switch (status) {
    case GrpcStatus.UNAVAILABLE:
      return 'unavailable'
    case GrpcStatus.RESOURCE_EXHAUSTED:
      return 'resource-exhausted'
    case GrpcStatus.CANCELLED:
      return 'cancelled'
    case GrpcStatus.DEADLINE_EXCEEDED:
      return 'deadline-exceeded'
    default:
      return undefined
  }
}

/**
 * An outcome that earns the free extra try: nothing of the request left this process (a reset
 * before the write, a mesh endpoint refused in the handshake for its identity), or the keep-alive
 * race (a reused idle socket closed before any byte of the answer) on a method safe to repeat.
 */
export function isFreeRetry(outcome: AttemptOutcome, method: string): outcome is UpstreamResetError | UpstreamIdentityError {
  if (outcome instanceof UpstreamIdentityError) return true
  if (!(outcome instanceof UpstreamResetError)) return false
  if (outcome.stage === 'unwritten') return true
  return outcome.stage === 'idle-race' && (SAFE_METHODS.has(method) || SAFE_METHODS.has(method.toUpperCase()))
}

/** The route retries requests of this method once they reached the endpoint (`methods`, any case). */
export function retriesMethod(policy: RetryPolicyConfig, method: string): boolean {
  for (const m of policy.methods) if (m === method || m.toUpperCase() === method.toUpperCase()) return true
  return false
}

/** The production rules (see the module comment). Pure; usable as a RetryDecider as it is. */
export const decideRetry: RetryDecider = (ctx, outcome) => {
  const { policy } = ctx
  if (outcome instanceof ClientAbortedError) return CLIENT_ABORTED
  if (!bodyReplayable(ctx.body)) return BODY_STREAMED
  // the keep-alive race and the never-written request: which requests they may replay is decided here
  if (isFreeRetry(outcome, ctx.method)) {
    if (ctx.tries > policy.attempts) return ATTEMPTS_EXHAUSTED
    if (outcome instanceof UpstreamIdentityError) return IMPOSTOR
    return outcome.stage === 'unwritten' ? UNWRITTEN : KEEP_ALIVE_RACE
  }
  if (ctx.tries >= policy.attempts) return policy.attempts <= 1 ? RETRIES_DISABLED : ATTEMPTS_EXHAUSTED
  const cond = retryCondition(outcome)
  if (cond === undefined) return no(`${outcome instanceof Error ? outcome.name : String(outcome)} is not retryable`)
  if (!policy.on.includes(cond)) return no(typeof cond === 'number' ? `status ${cond} not in retry conditions` : `${cond} not in retry conditions`)
  if (cond === 'connect-failure') return CONNECT_FAILURE
  if (outcome instanceof UpstreamGrpcStatusError) return yes(`grpc ${cond}`)
  if (!retriesMethod(policy, ctx.method)) return no(`method ${ctx.method.toUpperCase()} is not retried`)
  return yes(typeof cond === 'number' ? `status ${cond}` : cond)
}
