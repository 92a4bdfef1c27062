/**
 * Exponential backoff with full jitter (the AWS architecture blog's "full jitter"): the delay
 * before retry n is uniform in [0, min(max, base × 2^(n-1))). Randomness and time are injected.
 */
import type { Clock, Random } from '../clock.js'

export interface BackoffOptions {
  readonly baseMs: number
  readonly maxMs: number
  readonly random: Random
}

/** Delay before the `retry`-th retry (1 = the first retry). */
export function backoffDelay(retry: number, options: BackoffOptions): number {
  const exp = Math.min(Math.max(0, retry - 1), 52)
  const ceiling = Math.min(options.maxMs, options.baseMs * 2 ** exp)
  return ceiling <= 0 ? 0 : Math.floor(options.random() * ceiling)
}

/**
 * Resolves after `ms` on the injected clock (at once for 0); rejects with the signal's reason
 * when it aborts first. The timer does not keep the process alive.
 */
export function pause(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason)
  if (ms <= 0) return Promise.resolve()
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      timer.cancel()
      reject(signal!.reason)
    }
    const timer = clock.setTimer(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
