/**
 * Health of the services this sidecar offers (config.local.services): the app beside it, checked
 * by this node only, as a Consul agent does. The gossip layer publishes `statuses()` to peers (as
 * EndpointInfo.reportedHealth) so that peers need not probe every endpoint themselves.
 * A local service without a health check reports 'unknown' (peers treat it as eligible).
 */
import type { Logger } from 'pino'
import type { Clock, Random } from '../clock.js'
import type { HealthCheckConfig, LocalServiceConfig } from '../config/types.js'
import { Endpoint, type ActiveHealth } from '../endpoint/endpoint.js'
import type { Startable } from '../lifecycle.js'
import { Listeners } from '../listeners.js'
import { ActiveMonitor, type MonitorListener } from './active-monitor.js'
import type { HealthCheck } from './check.js'

export interface LocalServiceStatus {
  readonly name: string
  /** `host:port` of the local service. */
  readonly address: string
  readonly health: ActiveHealth
  /** Last failure when unhealthy; '' otherwise. */
  readonly reason: string
  /** Wall ms of the last change (0 = never changed). */
  readonly since: number
}

export interface LocalServiceHealthDeps {
  readonly clock: Clock
  readonly random: Random
  readonly logger?: Logger
  readonly checkFor?: (config: HealthCheckConfig) => HealthCheck
}

export type LocalStatusListener = (status: LocalServiceStatus) => void

export class LocalServiceHealth implements Startable {
  private readonly monitor: ActiveMonitor
  private readonly clock: Clock
  private configs = new Map<string, HealthCheckConfig | undefined>()
  private readonly endpoints = new Map<string, Endpoint>()
  private readonly since = new Map<string, number>()
  private readonly listeners: Listeners<[LocalServiceStatus]>

  constructor(services: readonly LocalServiceConfig[], deps: LocalServiceHealthDeps) {
    this.clock = deps.clock
    this.listeners = new Listeners((err) => deps.logger?.error({ err }, 'local service status listener failed'))
    this.monitor = new ActiveMonitor({
      configFor: (ep) => this.configs.get(ep.service),
      clock: deps.clock,
      random: deps.random,
      // the health component's logger already binds `component`: a second one would repeat the key
      logger: deps.logger?.child({ checks: 'local' }),
      checkFor: deps.checkFor,
    })
    this.configs = new Map(services.map((s) => [s.name, s.healthCheck]))
    for (const s of services) this.add(s)
  }

  /**
   * The local services after a config reload: new ones are watched (listeners hear their first
   * status), removed ones are forgotten, a changed address starts afresh, a changed check applies
   * from the next check on.
   */
  reconfigure(services: readonly LocalServiceConfig[]): void {
    const next = new Map(services.map((s) => [s.name, s]))
    for (const [name, ep] of this.endpoints) {
      const s = next.get(name)
      if (s === undefined || s.host !== ep.host || s.port !== ep.port) this.remove(name)
    }
    this.configs = new Map(services.map((s) => [s.name, s.healthCheck]))
    for (const s of services) {
      if (this.endpoints.has(s.name)) continue
      this.add(s)
      this.emit(s.name)
    }
    this.monitor.reconfigure()
  }

  private add(s: LocalServiceConfig): void {
    const ep = new Endpoint(s.name, { host: s.host, port: s.port, weight: s.weight, zone: undefined, tags: s.tags }, 'local', 10_000)
    this.endpoints.set(s.name, ep)
    this.monitor.watch(ep, () => {
      this.since.set(s.name, this.clock.wallNow())
      this.emit(s.name)
    })
  }

  private remove(name: string): void {
    const ep = this.endpoints.get(name)
    if (!ep) return
    this.monitor.unwatch(ep)
    this.endpoints.delete(name)
    this.since.delete(name)
  }

  private emit(name: string): void {
    const st = this.status(name)
    if (!st) return
    this.listeners.emit(st)
  }

  /** Told on every change of a local service's health. */
  onChange(listener: LocalStatusListener): () => void {
    return this.listeners.add(listener)
  }

  /** Transition and check events of the underlying monitor (for history and logs). */
  on(listener: MonitorListener): () => void {
    return this.monitor.on(listener)
  }

  start(): void {
    this.monitor.start()
  }

  stop(): Promise<void> {
    return this.monitor.stop()
  }

  status(name: string): LocalServiceStatus | undefined {
    const ep = this.endpoints.get(name)
    if (!ep) return undefined
    return { name, address: ep.address, health: ep.activeHealth, reason: ep.activeReason, since: this.since.get(name) ?? 0 }
  }

  statuses(): LocalServiceStatus[] {
    return [...this.endpoints.keys()].map((n) => this.status(n)!)
  }
}
