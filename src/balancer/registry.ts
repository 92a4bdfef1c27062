/**
 * Strategy registry: names -> factories. Built in the composition root (never a module-global
 * map), so users can register their own strategies before the sidecar starts.
 */
import type { Balancer, BalancerFactory } from './balancer.js'
import type { Random } from '../clock.js'
import { CommyError } from '../errors.js'
import { createRoundRobin } from './round-robin.js'
import { createWeighted } from './weighted.js'
import { createLeastConnections } from './least-connections.js'
import { createLatency } from './latency.js'
import { createRandom } from './random.js'
import { createConsistentHash } from './consistent-hash.js'

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
  return new StrategyRegistry()
    .register('round-robin', createRoundRobin)
    .register('weighted', createWeighted)
    .register('least-connections', createLeastConnections)
    .register('latency', createLatency)
    .register('random', createRandom)
    .register('consistent-hash', createConsistentHash)
}

/** What `createBalancer` needs of a service (a slice of ServiceConfig, or a route override). */
export interface BalancerSpec {
  readonly service: string
  readonly strategy: string
  /** Strategy for requests without a hash key (consistent-hash only). */
  readonly hashFallback?: string
  readonly hashBalanceFactor?: number
}

/**
 * Builds a service's balancer from the registry, with its fallback for keyless requests.
 * One instance per service (and per route override): strategies hold per-service state.
 */
export function createBalancer(registry: StrategyRegistry, spec: BalancerSpec, random: Random): Balancer {
  const factoryOf = (name: string): BalancerFactory => {
    const factory = registry.get(name)
    if (!factory) throw new CommyError('COMMY_ERR_CONFIG', `service "${spec.service}": unknown strategy "${name}" (one of: ${registry.names().join(', ')})`)
    return factory
  }
  const main = factoryOf(spec.strategy)
  const options = { service: spec.service, random, hashBalanceFactor: spec.hashBalanceFactor ?? 0 }
  const fallbackName = spec.hashFallback ?? 'round-robin'
  if (fallbackName === spec.strategy) return main(options)
  return main({ ...options, fallback: factoryOf(fallbackName)(options) })
}
