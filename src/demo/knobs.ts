/**
 * The demo's failure knobs, so a newcomer can watch commy react (retries, breakers, ejection,
 * panic mode, alerts) without writing a broken service:
 *
 *   POST /fail?rate=0.5            answer 503 to half the requests (rate 0..1; 0 heals)
 *   POST /fail?rate=1&health=1     fail /health too (the sidecar's check marks it unhealthy)
 *   POST /slow?ms=300              answer every request 300 ms late (0: at once)
 *
 * Each answers the knobs now set, as JSON. Pure state and parsing; echo.ts serves them.
 */

export interface KnobState {
  /** Share of requests answered 503 (0..1). */
  failRate: number
  /** Also fail `/health` while failRate > 0. */
  failHealth: boolean
  /** Delay before every answer, ms. */
  slowMs: number
}

/** Longest /slow delay accepted. */
export const MAX_SLOW_MS = 60_000

export type KnobAnswer = { readonly ok: true; readonly state: KnobState } | { readonly ok: false; readonly error: string }

/** Applies `/fail?…` or `/slow?…` to `state` (in place); an unreadable value changes nothing. */
export function turnKnob(state: KnobState, path: string, query: URLSearchParams): KnobAnswer {
  if (path === '/fail') {
    const rate = Number(query.get('rate') ?? '1')
    if (!Number.isFinite(rate) || rate < 0 || rate > 1) return { ok: false, error: 'rate must be a number from 0 to 1' }
    const health = query.get('health')
    state.failRate = rate
    state.failHealth = rate > 0 && (health === '1' || health === 'true')
    return { ok: true, state }
  }
  const ms = Number(query.get('ms') ?? '0')
  if (!Number.isInteger(ms) || ms < 0 || ms > MAX_SLOW_MS) return { ok: false, error: `ms must be an integer from 0 to ${MAX_SLOW_MS}` }
  state.slowMs = ms
  return { ok: true, state }
}

/** True for the knob paths. */
export function isKnob(path: string): boolean {
  return path === '/fail' || path === '/slow'
}

/** Whether this request fails, by the knobs (`random` in [0, 1)). */
export function failsNow(state: KnobState, isHealth: boolean, random: () => number): boolean {
  if (state.failRate <= 0) return false
  if (isHealth && !state.failHealth) return false
  return random() < state.failRate
}
