import type { Balancer, BalancerOptions, PickContext, PickExplanation } from './balancer.js'
import type { Endpoint } from '../endpoint/endpoint.js'
import type { Random } from '../clock.js'

/**
 * Weighted random: each candidate with probability effective weight / total (weight 0: never).
 * One pass reads the weights into a reused scratch array, a second finds the drawn one.
 */
export class RandomBalancer implements Balancer {
  readonly name = 'random'
  private scratch = new Float64Array(16)
  constructor(private readonly random: Random) {}

  pick(candidates: readonly Endpoint[], ctx: PickContext): Endpoint | undefined {
    const n = candidates.length
    if (n === 0) return undefined
    if (this.scratch.length < n) this.scratch = new Float64Array(Math.max(n, this.scratch.length * 2))
    const w = this.scratch
    let total = 0
    for (let i = 0; i < n; i++) {
      const ep = candidates[i]!
      const x = ep.weight > 0 ? ep.effectiveWeight(ctx.now) : 0
      const v = x > 0 ? x : 0
      w[i] = v
      total += v
    }
    if (!(total > 0)) return undefined
    let r = this.random() * total
    let last = -1
    for (let i = 0; i < n; i++) {
      const v = w[i]!
      if (v <= 0) continue
      if (r < v) return candidates[i]
      r -= v
      last = i
    }
    return candidates[last] // rounding at the very end of the range
  }

  /** Score: probability of being picked. */
  explain(candidates: readonly Endpoint[], ctx: PickContext): PickExplanation {
    const ws = candidates.map((ep) => (ep.weight > 0 ? Math.max(0, ep.effectiveWeight(ctx.now)) : 0))
    const total = ws.reduce((a, b) => a + b, 0)
    return {
      strategy: this.name,
      scores: candidates.map((ep, i) => ({ address: ep.address, score: total > 0 ? ws[i]! / total : 0 })),
      note: 'score = probability (effective weight / total)',
    }
  }
}

export const createRandom = (options: BalancerOptions): Balancer => new RandomBalancer(options.random)
