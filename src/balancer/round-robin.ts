import type { Balancer, PickContext } from './balancer.js'
import type { Endpoint } from '../endpoint/endpoint.js'

/** Plain round robin over the candidates, in their order: an exact cycle. */
export class RoundRobinBalancer implements Balancer {
  readonly name = 'round-robin'
  private next = 0

  pick(candidates: readonly Endpoint[], _ctx?: PickContext): Endpoint | undefined {
    const n = candidates.length
    if (n === 0) return undefined
    if (this.next >= n) this.next = 0
    return candidates[this.next++]
  }
}

export const createRoundRobin = (): Balancer => new RoundRobinBalancer()
