import type { BreakerKind, BreakerState } from '../../src/endpoint/endpoint.js'

/** A breaker state of the given kind, for tests that set `Endpoint.breaker` by hand. */
export function breakerIn(kind: BreakerKind, reason = 'set by a test', since = 0): BreakerState {
  return kind === 'half-open' ? { kind, since, reason, trial: 0 } : { kind, since, reason }
}
