/**
 * The active-health state machine of one endpoint, as one pure function. Consecutive results
 * count towards the thresholds:
 *   unknown  --pass-------------------------> healthy   (a first pass is enough, as Envoy does)
 *   unknown  --unhealthyThreshold fails-----> unhealthy
 *   healthy  --unhealthyThreshold fails-----> unhealthy
 *   unhealthy--healthyThreshold passes------> healthy
 * A result of the other kind resets the opposite count.
 */
import type { ActiveHealth } from '../endpoint/endpoint.js'

export interface HealthCounts {
  readonly health: ActiveHealth
  /** Consecutive passes so far. */
  readonly passes: number
  /** Consecutive failures so far. */
  readonly failures: number
}

export interface Thresholds {
  readonly healthyThreshold: number
  readonly unhealthyThreshold: number
}

export const INITIAL_COUNTS: HealthCounts = Object.freeze({ health: 'unknown', passes: 0, failures: 0 })

export function nextHealth(s: HealthCounts, ok: boolean, t: Thresholds): HealthCounts {
  if (ok) {
    const passes = s.passes + 1
    const health: ActiveHealth = s.health === 'healthy' || s.health === 'unknown' || passes >= t.healthyThreshold ? 'healthy' : s.health
    return { health, passes, failures: 0 }
  }
  const failures = s.failures + 1
  const health: ActiveHealth = failures >= t.unhealthyThreshold ? 'unhealthy' : s.health
  return { health, passes: 0, failures }
}
