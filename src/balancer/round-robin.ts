import type { Balancer, BalancerOptions, PickContext, PickExplanation } from './balancer.js'
import type { Endpoint } from '../endpoint/endpoint.js'

/**
 * Plain round robin over the candidates, in their order: an exact cycle. Endpoints with weight 0
 * (draining) are skipped. The position survives candidate changes (it wraps when the list shrinks).
 */
export class RoundRobinBalancer implements Balancer {
  readonly name = 'round-robin'
  private next = 0

  pick(candidates: readonly Endpoint[], _ctx?: PickContext): Endpoint | undefined {
    const n = candidates.length
    for (let k = 0; k < n; k++) {
      if (this.next >= n) this.next = 0
      const ep = candidates[this.next++]!
      if (ep.weight > 0) return ep
    }
    return undefined
  }

  /** Score: picks until this candidate's turn (0 = next); -1 for draining endpoints. */
  explain(candidates: readonly Endpoint[]): PickExplanation {
    const n = candidates.length
    const start = this.next >= n ? 0 : this.next
    let turn = 0
    const scores = new Array<{ address: string; score: number }>(n)
    for (let k = 0; k < n; k++) {
      const i = (start + k) % n
      const ep = candidates[i]!
      scores[i] = { address: ep.address, score: ep.weight > 0 ? turn++ : -1 }
    }
    return { strategy: this.name, scores, note: 'score = picks until its turn (0 = next)' }
  }
}

export const createRoundRobin = (_options?: BalancerOptions): Balancer => new RoundRobinBalancer()
