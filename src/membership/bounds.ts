/**
 * The failure-detection bound the protocol settings imply, for the docs, the tests and the
 * simulator (one formula, one home). For a cluster of n members with every node healthy
 * (local health score 0), a member that stops answering is
 *
 *  - first probed within  W = (2(n−1) − 1) · T   (worst case of the randomised round robin at one
 *    prober: probed first in one round, last in the next; with n−1 probers it is usually ~T),
 *  - suspect after that probe's period:  S = W + T,
 *  - dead after the suspicion timeout, at most the Lifeguard maximum
 *    (suspicionMaxTimeoutMult · suspicionMult · max(1, log10 n) · T; the minimum once k
 *    independent confirmations arrive):  D = S + maxSuspicion,
 *  - known dead everywhere once the dead claim has spread: a few gossip rounds,
 *    G = (ceil(log(n) / log(gossipNodes + 1)) + 2) · gossipInterval.
 *
 * T is probeInterval. A prober whose own local health score is s uses (s + 1) · T, so a
 * stalled or overloaded node detects others more slowly; that is the point of Lifeguard.
 */
import { suspicionTimeouts } from './suspicion.js'

export interface DetectionSettings {
  readonly probeIntervalMs: number
  readonly suspicionMult: number
  readonly suspicionMaxTimeoutMult: number
  readonly gossipIntervalMs: number
  readonly gossipNodes: number
  readonly lifeguard: boolean
}

export interface DetectionBound {
  /** Some node marks the failed member suspect within this (ms). */
  readonly suspectWithinMs: number
  /** Suspicion timeout range (ms): min with k confirmations, max with none. */
  readonly suspicionMinMs: number
  readonly suspicionMaxMs: number
  /** Some node declares it dead within this (ms). */
  readonly deadWithinMs: number
  /** Every node knows it dead within this (ms). */
  readonly deadEverywhereWithinMs: number
}

export function detectionBound(s: DetectionSettings, n: number): DetectionBound {
  const T = s.probeIntervalMs
  const firstProbe = Math.max(1, 2 * (n - 1) - 1) * T
  const suspectWithinMs = firstProbe + T
  const { minMs, maxMs } = suspicionTimeouts(n, s)
  const deadWithinMs = suspectWithinMs + maxMs
  const rounds = Math.ceil(Math.log(Math.max(2, n)) / Math.log(s.gossipNodes + 1)) + 2
  return {
    suspectWithinMs,
    suspicionMinMs: minMs,
    suspicionMaxMs: maxMs,
    deadWithinMs,
    deadEverywhereWithinMs: deadWithinMs + rounds * s.gossipIntervalMs,
  }
}
