/**
 * Strategy registry: names -> factories. Built in the composition root (never a module-global
 * map), so users can register their own strategies before the sidecar starts.
 */
import type { BalancerFactory } from './balancer.js'
import { createRoundRobin } from './round-robin.js'

export class StrategyRegistry {
  private readonly factories = new Map<string, BalancerFactory>()

  register(name: string, factory: BalancerFactory): this {
    this.factories.set(name, factory)
    return this
  }

  get(name: string): BalancerFactory | undefined {
    return this.factories.get(name)
  }

  names(): string[] {
    return [...this.factories.keys()]
  }
}

/** A registry holding every built-in strategy. */
export function builtinStrategies(): StrategyRegistry {
  return new StrategyRegistry().register('round-robin', createRoundRobin)
}
