import type { Balancer, BalancerOptions, PickContext, PickExplanation } from './balancer.js'
import type { Endpoint } from '../endpoint/endpoint.js'
import type { Random } from '../clock.js'
import { randomIndex, secondChoice } from './p2c.js'
import { finiteScore } from './score.js'

/** How long the mean latency used for endpoints without samples is reused (ms). */
export const UNKNOWN_LATENCY_REUSE_MS = 100

/**
 * Performance-based balancing as Linkerd and Finagle do it: cost = peak-EWMA latency ×
 * (in-flight + 1) / effective weight, and power of two choices (the cheaper of two random
 * candidates) so that one fast endpoint is not flooded. The EWMA (Endpoint.latency, decay from
 * the service's latencyDecayMs) decays towards zero while an endpoint gets no traffic, so a
 * slow endpoint is retried now and then.
 *
 * An endpoint without a sample yet costs the mean latency of those that have one (1 when none
 * has): it gets its fair share of comparisons, so it is tried without being flooded.
 */
export class LatencyBalancer implements Balancer {
  readonly name = 'latency'
  private meanOf: readonly Endpoint[] | undefined
  private meanAt = 0
  private mean = 1
  constructor(private readonly random: Random) {}

  pick(candidates: readonly Endpoint[], ctx: PickContext): Endpoint | undefined {
    const n = candidates.length
    if (n === 0) return undefined
    if (n === 1) return candidates[0]!.weight > 0 ? candidates[0] : undefined
    const i = randomIndex(n, this.random)
    const j = secondChoice(i, n, this.random)
    const a = candidates[i]!
    const b = candidates[j]!
    const ca = this.cost(a, candidates, ctx.now)
    const cb = this.cost(b, candidates, ctx.now)
    if (ca !== Number.POSITIVE_INFINITY || cb !== Number.POSITIVE_INFINITY) return cb < ca ? b : a
    // both draining: the cheapest of all
    let best: Endpoint | undefined
    let bestCost = Number.POSITIVE_INFINITY
    for (const ep of candidates) {
      const c = this.cost(ep, candidates, ctx.now)
      if (c < bestCost) {
        bestCost = c
        best = ep
      }
    }
    return best
  }

  /** Cost of one endpoint now (lower is better; Infinity for weight 0). */
  cost(ep: Endpoint, candidates: readonly Endpoint[], now: number): number {
    if (!(ep.weight > 0)) return Number.POSITIVE_INFINITY
    const w = ep.effectiveWeight(now)
    if (!(w > 0)) return Number.POSITIVE_INFINITY
    const latency = ep.latency.get(now) ?? this.unknownLatency(candidates, now)
    return (latency * (ep.inFlight + 1)) / w
  }

  explain(candidates: readonly Endpoint[], ctx: PickContext): PickExplanation {
    return {
      strategy: this.name,
      scores: candidates.map((ep) => ({ address: ep.address, score: finiteScore(this.cost(ep, candidates, ctx.now)) })),
      note: 'score = peak-EWMA ms × (in-flight + 1) / effective weight; cheaper of two random candidates wins; -1 = draining',
    }
  }

  /** Mean of the known latencies of the candidates, recomputed at most every UNKNOWN_LATENCY_REUSE_MS. */
  private unknownLatency(candidates: readonly Endpoint[], now: number): number {
    if (candidates === this.meanOf && now >= this.meanAt && now - this.meanAt < UNKNOWN_LATENCY_REUSE_MS) return this.mean
    let sum = 0
    let known = 0
    for (const ep of candidates) {
      const l = ep.latency.get(now)
      if (l !== undefined) {
        sum += l
        known++
      }
    }
    this.mean = known > 0 ? sum / known : 1
    this.meanOf = candidates
    this.meanAt = now
    return this.mean
  }
}

export const createLatency = (options: BalancerOptions): Balancer => new LatencyBalancer(options.random)
