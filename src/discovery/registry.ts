/**
 * The endpoints of every configured service, fed by discovery sources. Each source tells the
 * full set it knows per service (replace semantics); ServiceEndpoints diffs, so unchanged
 * endpoints keep their stats. The health source is told to watch endpoints that join and to
 * forget those that leave; listeners (the transport, to close pools) hear about both.
 */
import type { ServiceConfig } from '../config/types.js'
import type { DiscoverySource, DiscoveryUpdate } from './discovery.js'
import type { HealthSource } from '../health/health-source.js'
import type { Startable } from '../lifecycle.js'
import { EventHub } from '../listeners.js'
import type { Endpoint, MeshMode } from '../endpoint/endpoint.js'
import { ServiceEndpoints, type ServiceEndpointsOptions } from '../endpoint/service-endpoints.js'

export interface RegistryOptions {
  readonly services: Readonly<Record<string, ServiceConfig>>
  readonly localZone: string | undefined
  /** Clock ms (the injected clock's `now`). */
  readonly now: () => number
  readonly sources: readonly DiscoverySource[]
  readonly health: HealthSource
  /** How endpoints learned from discovery are treated under the mesh's tls (default `none`). */
  readonly meshMode?: MeshMode
  /** Told when a source announces a service that is not configured (its update is ignored). */
  readonly onUnknownService?: (service: string, source: string) => void
}

export interface RegistryEvents {
  added?(ep: Endpoint): void
  removed?(ep: Endpoint): void
}

/** The registry as readers see it (plugins, admin): no start/stop, no reconfigure. */
export type EndpointsView = Pick<EndpointRegistry, 'service' | 'services' | 'endpoints' | 'on'>

export class EndpointRegistry implements Startable {
  private readonly byName = new Map<string, ServiceEndpoints>()
  private readonly unsubscribers: (() => void)[] = []
  private readonly listeners = new EventHub<RegistryEvents>()
  private readonly options: RegistryOptions
  private meshMode: MeshMode
  private started = false

  constructor(options: RegistryOptions) {
    this.options = options
    this.meshMode = options.meshMode ?? 'none'
    for (const cfg of Object.values(options.services)) this.add(cfg)
  }

  /** The endpoints of a configured service. */
  service(name: string): ServiceEndpoints | undefined {
    return this.byName.get(name)
  }

  services(): ServiceEndpoints[] {
    return [...this.byName.values()]
  }

  /** Every endpoint of every service. */
  endpoints(): Endpoint[] {
    const out: Endpoint[] = []
    for (const s of this.byName.values()) out.push(...s.snapshot.all)
    return out
  }

  on(events: RegistryEvents): () => void {
    return this.listeners.on(events)
  }

  /** Subscribes to every source (each replays what it knows), then marks services started (slow start applies from now on). */
  start(): void {
    if (this.started) return
    this.started = true
    for (const source of this.options.sources) {
      this.unsubscribers.push(source.subscribe((u) => this.apply(source.name, u)))
    }
    for (const s of this.byName.values()) s.markStarted()
  }

  /** Unsubscribes from the sources and stops watching health. Idempotent. */
  stop(): void {
    while (this.unsubscribers.length > 0) this.unsubscribers.pop()!()
    for (const s of this.byName.values()) for (const ep of s.snapshot.all) this.options.health.unwatch(ep)
    this.started = false
  }

  /**
   * New service settings (config reload): new services are added, existing ones reconfigured
   * (endpoints and stats kept), removed ones emptied and dropped. Sources then publish endpoints.
   */
  reconfigure(services: Readonly<Record<string, ServiceConfig>>, meshMode: MeshMode = this.meshMode): void {
    this.meshMode = meshMode
    for (const [name, s] of this.byName) {
      const cfg = services[name]
      if (cfg === undefined) {
        s.clear()
        this.byName.delete(name)
      } else s.reconfigure(this.serviceOptions(cfg))
    }
    for (const cfg of Object.values(services)) {
      if (!this.byName.has(cfg.name)) {
        const s = this.add(cfg)
        if (this.started) s.markStarted()
      }
    }
  }

  private apply(source: string, u: DiscoveryUpdate): void {
    const s = this.byName.get(u.service)
    if (s === undefined) {
      if (u.endpoints.length > 0) this.options.onUnknownService?.(u.service, source)
      return
    }
    s.apply(source, u.endpoints)
  }

  private serviceOptions(cfg: ServiceConfig): ServiceEndpointsOptions {
    return {
      name: cfg.name,
      panicThreshold: cfg.panicThreshold,
      slowStartMs: cfg.slowStartMs,
      latencyDecayMs: cfg.latencyDecayMs,
      preferLocalZone: cfg.preferLocalZone,
      localZone: this.options.localZone,
      now: this.options.now,
      meshMode: this.meshMode,
    }
  }

  private add(cfg: ServiceConfig): ServiceEndpoints {
    const s = new ServiceEndpoints(this.serviceOptions(cfg))
    const health = this.options.health
    s.on({
      added: (ep) => {
        health.watch(ep, () => s.refresh())
        this.listeners.emit('added', ep)
      },
      removed: (ep) => {
        health.unwatch(ep)
        this.listeners.emit('removed', ep)
      },
    })
    this.byName.set(cfg.name, s)
    return s
  }
}
