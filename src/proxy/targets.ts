/**
 * Route targets: what a matched route leads to — the service's endpoints, its balancer, the
 * route's retry policy and the composed send. Built once per listener from the config; a reload
 * builds new ones. Balancers are shared per (service, strategy) so that, for example, round robin
 * cycles over all requests of a service whatever route they came by.
 */
import type { ListenerConfig, RouteConfig, ServiceConfig } from '../config/types.js'
import type { Random } from '../clock.js'
import type { Balancer, PickContext, PickExplanation } from '../balancer/balancer.js'
import { compileHashKey, type HashKeyExtractor, type HeaderBag } from '../balancer/hash-key.js'
import { createBalancer, type StrategyRegistry } from '../balancer/registry.js'
import type { Endpoint } from '../endpoint/endpoint.js'
import type { ServiceEndpoints } from '../endpoint/service-endpoints.js'
import type { ExplainFacts } from './explain.js'
import type { Send } from '../pipeline/pipeline.js'
import type { RetryDecider } from '../pipeline/retry-rules.js'
import { createRetry, type Retry } from './retry.js'
import { RouteTable } from './routes.js'

export interface RouteTarget {
  readonly listener: string
  readonly route: RouteConfig
  readonly serviceConfig: ServiceConfig
  readonly endpoints: ServiceEndpoints
  readonly balancer: Balancer
  readonly retry: Retry
  readonly send: Send
  /** Reads the consistent-hash key; undefined when the strategy needs none. */
  readonly hashKey: HashKeyExtractor | undefined
  /** Plugin facts for `explain` routes (undefined: none). */
  readonly explainFacts: ExplainFacts | undefined
}

/** What the hash key is read from (only consulted for consistent-hash routes). */
export interface HashKeySource {
  /** Parsed headers (Node builds them lazily, so only hashing routes pay for them). */
  readonly headers: HeaderBag
  /** Path with query. */
  readonly path: string
  readonly clientIp: string
}

/**
 * Builds and caches one Balancer per (service, strategy). An unregistered strategy throws a
 * COMMY_ERR_CONFIG error when the sidecar is built.
 */
export class Balancers {
  private readonly cache = new Map<string, Balancer>()
  constructor(
    private readonly strategies: StrategyRegistry,
    private readonly random: Random,
  ) {}

  get(service: ServiceConfig, strategy: string = service.strategy): Balancer {
    const key = `${service.name}\0${strategy}`
    let b = this.cache.get(key)
    if (b === undefined) {
      b = createBalancer(
        this.strategies,
        { service: service.name, strategy, hashFallback: service.hashFallback, hashBalanceFactor: service.hashBalanceFactor },
        this.random,
      )
      this.cache.set(key, b)
    }
    return b
  }
}

export interface TargetDeps {
  readonly services: Readonly<Record<string, ServiceConfig>>
  readonly endpoints: (service: string) => ServiceEndpoints | undefined
  readonly balancers: Balancers
  /** The per-try pipeline (layers around the transport). */
  readonly send: Send
  readonly random: Random
  /** Retry decider (default: the retry rules' decideRetry, pipeline/retry-rules.ts). */
  readonly decide?: RetryDecider
  /** Facts plugins add to `explain` answers. */
  readonly explainFacts?: ExplainFacts
}

export function buildRouteTable(listener: ListenerConfig, deps: TargetDeps): RouteTable<RouteTarget> {
  return new RouteTable(
    listener.routes.map((route) => {
      const serviceConfig = deps.services[route.service]
      const endpoints = deps.endpoints(route.service)
      if (serviceConfig === undefined || endpoints === undefined) {
        throw new Error(`route ${route.name} refers to unknown service "${route.service}"`)
      }
      const strategy = route.strategy ?? serviceConfig.strategy
      const target: RouteTarget = {
        listener: listener.name,
        route,
        serviceConfig,
        endpoints,
        balancer: deps.balancers.get(serviceConfig, strategy),
        retry: createRetry(route.retries, deps.random, deps.decide),
        send: deps.send,
        hashKey: strategy === 'consistent-hash' ? compileHashKey(serviceConfig.hashKey ?? 'client-ip') : undefined,
        explainFacts: deps.explainFacts,
      }
      return { match: route.match, target }
    }),
  )
}

/**
 * Picks an endpoint for a try. Candidates are the service's eligible endpoints (with the route's
 * tags); endpoints already tried are left out while others remain.
 */
export function pickEndpoint(
  t: RouteTarget,
  now: number,
  req: HashKeySource,
  tried: readonly Endpoint[] | null,
  /** Routes with `explain`: receives the strategy's view of the candidates, before the pick. */
  explain?: (e: PickExplanation) => void,
): Endpoint | undefined {
  const tags = t.route.tags
  let candidates = tags.length === 0 ? t.endpoints.snapshot.eligible : t.endpoints.eligibleWithTags(tags)
  if (tried !== null && candidates.length > 1) {
    const fresh = candidates.filter((ep) => !tried.includes(ep))
    if (fresh.length > 0) candidates = fresh
  }
  const ctx: PickContext = { now, hashKey: t.hashKey === undefined ? undefined : t.hashKey(req.headers, req.path, req.clientIp) }
  if (explain !== undefined) explain(t.balancer.explain?.(candidates, ctx) ?? { strategy: t.balancer.name, scores: [] })
  return t.balancer.pick(candidates, ctx)
}
