/**
 * A normalized ServiceConfig for unit tests of per-service mechanisms (breaker, outlier
 * detection, limits, budget): breaker and outlier detection on, everything else off or small.
 */
import type { ServiceConfig } from '../../src/config/types.js'

export function serviceConfig(over: Partial<ServiceConfig> = {}): ServiceConfig {
  return {
    name: 'svc',
    strategy: 'round-robin',
    hashKey: undefined,
    hashFallback: 'round-robin',
    hashBalanceFactor: 0,
    latencyDecayMs: 10_000,
    endpoints: [],
    tags: [],
    preferLocalZone: false,
    breaker: { enabled: true, errorThresholdPercentage: 50, volumeThreshold: 2, resetTimeoutMs: 1_000, rollingCountTimeoutMs: 10_000, rollingCountBuckets: 10 },
    healthCheck: undefined,
    outlierDetection: { enabled: true, consecutiveErrors: 3, baseEjectionTimeMs: 5_000, maxEjectionTimeMs: 60_000, maxEjectionPercent: 100 },
    panicThreshold: 0,
    slowStartMs: 0,
    concurrency: { maxInFlight: 0, maxQueued: 0, queueTimeoutMs: 1_000 },
    retryBudget: { ratio: 0.5, minPerSecond: 0 },
    upstream: { connections: 10, connectTimeoutMs: 1_000, keepAliveTimeoutMs: 1_000, maxConcurrentStreams: 100 },
    protocol: 'http1',
    tls: undefined,
    ...over,
  }
}
