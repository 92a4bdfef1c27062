import type { Balancer, BalancerOptions, PickContext, PickExplanation } from './balancer.js'
import type { Endpoint } from '../endpoint/endpoint.js'

/**
 * Smooth weighted round robin, as nginx does it: every pick adds each candidate's effective weight
 * to its current weight, picks the largest (first in candidate order on ties) and subtracts the
 * total from the winner. With integer weights every window of sum(weights) consecutive picks has
 * exactly the configured ratios, spread out (5,1,1 gives a a b a c a a). Fractional weights (slow
 * start, mesh factor) work the same way, proportionally. Weight 0 is never picked.
 *
 * The current weights are strategy state (not stats): a Float64Array aligned with the candidates
 * array, carried over by endpoint when a new snapshot arrives. Weights are re-read on every pick.
 */
export class WeightedBalancer implements Balancer {
  readonly name = 'weighted'
  private list: readonly Endpoint[] = []
  private current = new Float64Array(0)

  pick(candidates: readonly Endpoint[], ctx: PickContext): Endpoint | undefined {
    const n = candidates.length
    if (n === 0) return undefined
    if (candidates !== this.list) this.adopt(candidates)
    const cur = this.current
    const now = ctx.now
    let total = 0
    let best = -1
    let bestCw = Number.NEGATIVE_INFINITY
    for (let i = 0; i < n; i++) {
      const ep = candidates[i]!
      const w = ep.weight > 0 ? ep.effectiveWeight(now) : 0
      if (!(w > 0)) {
        cur[i] = 0
        continue
      }
      const cw = cur[i]! + w
      cur[i] = cw
      total += w
      if (cw > bestCw) {
        bestCw = cw
        best = i
      }
    }
    if (best < 0) return undefined
    cur[best] = bestCw - total
    return candidates[best]
  }

  /** Score: current weight after adding the effective weight (the largest is picked next). */
  explain(candidates: readonly Endpoint[], ctx: PickContext): PickExplanation {
    const same = candidates === this.list
    const scores = candidates.map((ep, i) => {
      const w = ep.weight > 0 ? ep.effectiveWeight(ctx.now) : 0
      return { address: ep.address, score: w > 0 ? (same ? this.current[i]! : 0) + w : 0 }
    })
    return { strategy: this.name, scores, note: 'score = smooth-WRR current weight (largest is next)' }
  }

  private adopt(candidates: readonly Endpoint[]): void {
    const previous = new Map<Endpoint, number>()
    for (let i = 0; i < this.list.length; i++) previous.set(this.list[i]!, this.current[i]!)
    const cur = new Float64Array(candidates.length)
    for (let i = 0; i < candidates.length; i++) cur[i] = previous.get(candidates[i]!) ?? 0
    this.list = candidates
    this.current = cur
  }
}

export const createWeighted = (_options?: BalancerOptions): Balancer => new WeightedBalancer()
