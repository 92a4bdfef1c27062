/**
 * The HealthCheck interface: one probe of one target, answering pass or fail with a reason a
 * person can read ("HTTP 500 from /health", "connect ECONNREFUSED", "timeout after 1000ms").
 * One implementation per file (http-check.ts, tcp-check.ts); `createHealthCheck` picks one from
 * the config. `runCheck` adds what every probe needs: a timeout on the injected clock, a parent
 * signal (stop), and the rule that a check never throws.
 */
import type { Clock } from '../clock.js'
import { CommyError, DESCRIPTOR_CODES } from '../errors.js'

export interface CheckTarget {
  readonly host: string
  readonly port: number
}

export interface CheckResult {
  readonly ok: boolean
  /** Why it passed or failed, e.g. `HTTP 200 from /health`, `connect ECONNREFUSED`. */
  readonly reason: string
  /** The probe could not run for a local reason (commy out of file descriptors): says nothing about the target. */
  readonly inconclusive?: boolean
}

export interface HealthCheck {
  /**
   * Probes `target` once. Must settle soon after `signal` aborts, and leave no socket or body
   * open either way. May reject; `runCheck` turns a rejection into a failed result.
   */
  check(target: CheckTarget, signal: AbortSignal): Promise<CheckResult>
}

/** The check's time limit elapsed (the abort reason `runCheck` uses). */
export class CheckTimeoutError extends CommyError {
  readonly timeoutMs: number
  constructor(timeoutMs: number) {
    super('COMMY_ERR_HEALTH_CHECK_TIMEOUT', `timeout after ${timeoutMs}ms`)
    this.timeoutMs = timeoutMs
  }
}

/** The monitor stopped or the endpoint left while its check was in flight. */
export class CheckCancelledError extends CommyError {
  constructor() {
    super('COMMY_ERR_HEALTH_CHECK_CANCELLED', 'check cancelled')
  }
}

const CONNECT_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EADDRNOTAVAIL', 'UND_ERR_CONNECT_TIMEOUT'])

/** A readable reason for a failed probe: the abort reason when aborted, else the error's code. */
/** EMFILE/ENFILE on the error or its cause: commy itself is out of descriptors. */
function isDescriptorShortage(err: unknown): boolean {
  const e = err as { code?: unknown; cause?: { code?: unknown } } | undefined
  const code = typeof e?.code === 'string' ? e.code : e?.cause?.code
  return typeof code === 'string' && DESCRIPTOR_CODES.has(code)
}

export function failureReason(err: unknown, signal: AbortSignal): string {
  if (signal.aborted) {
    const r: unknown = signal.reason
    return r instanceof CommyError ? r.message : 'aborted'
  }
  const e = err as { code?: unknown; name?: unknown; cause?: { code?: unknown } } | undefined
  const code = typeof e?.code === 'string' ? e.code : typeof e?.cause?.code === 'string' ? e.cause.code : undefined
  if (code !== undefined && CONNECT_CODES.has(code)) return `connect ${code}`
  if (code !== undefined) return `request failed: ${code}`
  return `request failed: ${typeof e?.name === 'string' ? e.name : 'error'}`
}

/**
 * Runs one check with a timeout on `clock` that also follows `parent` (aborted on stop/unwatch).
 * Never rejects.
 */
export async function runCheck(
  check: HealthCheck,
  target: CheckTarget,
  timeoutMs: number,
  clock: Clock,
  parent?: AbortSignal,
): Promise<CheckResult> {
  const ac = new AbortController()
  const timer = clock.setTimer(() => ac.abort(new CheckTimeoutError(timeoutMs)), timeoutMs)
  const onParent = (): void => ac.abort(new CheckCancelledError())
  if (parent) {
    if (parent.aborted) onParent()
    else parent.addEventListener('abort', onParent, { once: true })
  }
  try {
    const r = await check.check(target, ac.signal)
    // a probe that resolved after the deadline still failed (e.g. a check that ignores the signal)
    if (ac.signal.aborted) return { ok: false, reason: failureReason(undefined, ac.signal) }
    return r
  } catch (err) {
    if (!ac.signal.aborted && isDescriptorShortage(err)) return { ok: false, reason: failureReason(err, ac.signal), inconclusive: true }
    return { ok: false, reason: failureReason(err, ac.signal) }
  } finally {
    timer.cancel()
    parent?.removeEventListener('abort', onParent)
  }
}
