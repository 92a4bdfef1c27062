/**
 * The life of one alert (one rule × one subject) as a pure transition function.
 *
 *   ok --on--> pending --on for fireAfterMs--> firing --off for resolveAfterMs--> ok
 *
 * `hold` is the hysteresis band of threshold rules (below the firing threshold but above the
 * resolving one): it keeps a firing alert firing and a pending one from maturing. An alert fires
 * once and resolves once per episode; the `event` of a step says which happened.
 */
export type Signal = 'on' | 'off' | 'hold'

export type AlertPhase =
  | { readonly kind: 'ok' }
  | { readonly kind: 'pending'; readonly since: number }
  | { readonly kind: 'firing'; readonly since: number; readonly clearSince: number | undefined }

export interface AlertTiming {
  /** How long the condition must hold before the alert fires. */
  readonly fireAfterMs: number
  /** How long it must be gone before the alert resolves. */
  readonly resolveAfterMs: number
}

export interface AlertStep {
  readonly phase: AlertPhase
  readonly event: 'fire' | 'resolve' | undefined
}

export const OK: AlertPhase = Object.freeze({ kind: 'ok' })

export function stepAlert(p: AlertPhase, signal: Signal, now: number, t: AlertTiming): AlertStep {
  switch (p.kind) {
    case 'ok':
    case 'pending': {
      if (signal !== 'on') return { phase: OK, event: undefined }
      const since = p.kind === 'pending' ? p.since : now
      if (now - since >= t.fireAfterMs) return { phase: { kind: 'firing', since: now, clearSince: undefined }, event: 'fire' }
      return { phase: p.kind === 'pending' ? p : { kind: 'pending', since }, event: undefined }
    }
    case 'firing': {
      if (signal !== 'off') return { phase: p.clearSince === undefined ? p : { ...p, clearSince: undefined }, event: undefined }
      const clearSince = p.clearSince ?? now
      if (now - clearSince >= t.resolveAfterMs) return { phase: OK, event: 'resolve' }
      return { phase: p.clearSince === undefined ? { ...p, clearSince } : p, event: undefined }
    }
  }
}
