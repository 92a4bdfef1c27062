/**
 * commy's public API: run a sidecar in code, plug in strategies, discovery sources, health
 * sources and pipeline layers. The `commy` command (main.ts) is a thin shell around this.
 */
export { Sidecar, type SidecarOptions } from './sidecar.js'
export { loadConfigFile, parseConfig, type LoadOptions } from './config/load.js'
export { SidecarSchema } from './config/schema.js'
export type * from './config/types.js'
export { createLogs, type Logs, type LogOptions } from './log.js'
export * from './errors.js'
export { systemClock, ManualClock, seededRandom, type Clock, type Random, type Timer } from './clock.js'
export { StartOrder, type Startable } from './lifecycle.js'

export { StrategyRegistry, builtinStrategies } from './balancer/registry.js'
export type { Balancer, BalancerFactory, BalancerOptions, PickContext, PickExplanation } from './balancer/balancer.js'
export type { DiscoverySource, DiscoveryUpdate, DiscoveryListener } from './discovery/discovery.js'
export { StaticDiscovery } from './discovery/static.js'
export { AlwaysHealthy, type HealthSource } from './health/health-source.js'
export { Endpoint, type EndpointInfo } from './endpoint/endpoint.js'
export { ServiceEndpoints, type EndpointSnapshot } from './endpoint/service-endpoints.js'
export { EndpointRegistry, type RegistryEvents } from './discovery/registry.js'

export {
  compose,
  type Attempt,
  type BodySink,
  type Layer,
  type ResponseBody,
  type Send,
  type UpstreamRequest,
  type UpstreamResponse,
} from './pipeline/pipeline.js'
export { decideRetry, retryCondition, type BodyState, type RetryContext, type RetryDecider, type RetryDecision } from './pipeline/retry-rules.js'
export { createRetry } from './proxy/retry.js'
export type { RequestObserver, RequestRecord } from './proxy/request-record.js'
export type { Transport } from './transport/transport.js'
export { UndiciTransport } from './transport/undici.js'
