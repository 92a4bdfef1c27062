import type { Balancer, BalancerOptions, PickContext, PickExplanation } from './balancer.js'
import type { Endpoint } from '../endpoint/endpoint.js'
import type { Random } from '../clock.js'
import { randomIndex, secondChoice } from './p2c.js'
import { finiteScore } from './score.js'

/** Up to this many candidates every one is compared; above it, power of two choices. */
export const FULL_SCAN_MAX = 8

/** Load per unit of weight: (in-flight + 1) / effective weight. Infinity for weight 0. */
export function connectionScore(ep: Endpoint, now: number): number {
  if (!(ep.weight > 0)) return Number.POSITIVE_INFINITY
  const w = ep.effectiveWeight(now)
  return w > 0 ? (ep.inFlight + 1) / w : Number.POSITIVE_INFINITY
}

/**
 * Fewest in-flight requests per unit of effective weight. Small services are scanned in full
 * and ties are broken uniformly with the injected random (so the first candidate is not always
 * favoured); larger ones use power of two choices (as Envoy's least-request).
 */
export class LeastConnectionsBalancer implements Balancer {
  readonly name = 'least-connections'
  private rotation = 0
  constructor(private readonly random: Random) {}

  pick(candidates: readonly Endpoint[], ctx: PickContext): Endpoint | undefined {
    const n = candidates.length
    if (n === 0) return undefined
    const now = ctx.now
    if (n > FULL_SCAN_MAX) {
      const i = randomIndex(n, this.random)
      const j = secondChoice(i, n, this.random)
      const a = candidates[i]!
      const b = candidates[j]!
      const sa = connectionScore(a, now)
      const sb = connectionScore(b, now)
      if (sa !== Number.POSITIVE_INFINITY || sb !== Number.POSITIVE_INFINITY) return sb < sa ? b : a
      // both draining: fall through to a full scan
    }
    // full scan from a rotating start; ties are broken uniformly (reservoir sampling)
    const start = this.rotation
    this.rotation = start + 1 >= n ? 0 : start + 1
    let best: Endpoint | undefined
    let bestScore = Number.POSITIVE_INFINITY
    let ties = 0
    for (let k = 0, i = start >= n ? 0 : start; k < n; k++, i = i + 1 === n ? 0 : i + 1) {
      const ep = candidates[i]!
      const s = connectionScore(ep, now)
      if (s < bestScore) {
        bestScore = s
        best = ep
        ties = 1
      } else if (s === bestScore && s !== Number.POSITIVE_INFINITY && this.random() * ++ties < 1) {
        best = ep
      }
    }
    return best
  }

  explain(candidates: readonly Endpoint[], ctx: PickContext): PickExplanation {
    return {
      strategy: this.name,
      scores: candidates.map((ep) => ({ address: ep.address, score: finiteScore(connectionScore(ep, ctx.now)) })),
      note: `score = (in-flight + 1) / effective weight, lowest wins${candidates.length > FULL_SCAN_MAX ? ' (of two random candidates)' : ''}; -1 = draining`,
    }
  }
}

export const createLeastConnections = (options: BalancerOptions): Balancer => new LeastConnectionsBalancer(options.random)
