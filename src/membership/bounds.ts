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
 *
 * W is a hard bound but grows with n. With n − 1 probers the chance that nobody probes a given
 * member in a period is about (1 − 1/(n−1))^(n−1) ≈ 1/e, so the first probe comes after
 * e/(e−1) ≈ 1.58 periods on average (SWIM's figure) and within ln(1/p) periods with
 * probability 1 − p: `suspectLikelyWithinMs` is that for p = 0.001, plus the probe's period.
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
  /** Some node marks the failed member suspect within this (ms): the hard bound. */
  readonly suspectWithinMs: number
  /** ... within this with probability 0.999 (ms); the smaller of the two is what to expect. */
  readonly suspectLikelyWithinMs: number
  /** Suspicion timeout range (ms): min with k confirmations, max with none. */
  readonly suspicionMinMs: number
  readonly suspicionMaxMs: number
  /** Some node declares it dead within this (ms). */
  readonly deadWithinMs: number
  /** Every node knows it dead within this (ms). */
  readonly deadEverywhereWithinMs: number
  /** The same two from the 0.999-likely first suspicion (ms). */
  readonly deadLikelyWithinMs: number
  readonly deadEverywhereLikelyWithinMs: number
}

export function detectionBound(s: DetectionSettings, n: number): DetectionBound {
  const T = s.probeIntervalMs
  const firstProbe = Math.max(1, 2 * (n - 1) - 1) * T
  const suspectWithinMs = firstProbe + T
  const { minMs, maxMs } = suspicionTimeouts(n, s)
  const deadWithinMs = suspectWithinMs + maxMs
  const spread = (Math.ceil(Math.log(Math.max(2, n)) / Math.log(s.gossipNodes + 1)) + 2) * s.gossipIntervalMs
  const suspectLikelyWithinMs = Math.min(suspectWithinMs, (Math.ceil(Math.log(1000)) + 1) * T)
  return {
    suspectWithinMs,
    suspectLikelyWithinMs,
    suspicionMinMs: minMs,
    suspicionMaxMs: maxMs,
    deadWithinMs,
    deadEverywhereWithinMs: deadWithinMs + spread,
    deadLikelyWithinMs: suspectLikelyWithinMs + maxMs,
    deadEverywhereLikelyWithinMs: suspectLikelyWithinMs + maxMs + spread,
  }
}
