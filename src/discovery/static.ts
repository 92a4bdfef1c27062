import type { ServiceConfig } from '../config/types.js'
import { Listeners } from '../listeners.js'
import type { DiscoveryListener, DiscoverySource, DiscoveryUpdate } from './discovery.js'

/** Endpoints listed in sidecar.yaml. `update()` replaces them on hot reload. */
export class StaticDiscovery implements DiscoverySource {
  readonly name = 'static'
  private state: DiscoveryUpdate[] = []
  private readonly listeners = new Listeners<[DiscoveryUpdate]>()

  constructor(services: Readonly<Record<string, ServiceConfig>>) {
    this.state = toUpdates(services)
  }

  start(): void {}
  stop(): void {
    this.listeners.clear()
  }

  subscribe(listener: DiscoveryListener): () => void {
    const off = this.listeners.add(listener)
    for (const u of this.state) listener(u)
    return off
  }

  /** New config: publishes every service (removed ones with no endpoints). */
  update(services: Readonly<Record<string, ServiceConfig>>): void {
    const next = toUpdates(services)
    const names = new Set(next.map((u) => u.service))
    const gone = this.state.filter((u) => !names.has(u.service)).map((u) => ({ service: u.service, endpoints: [] }))
    this.state = next
    for (const u of [...gone, ...next]) this.listeners.emit(u)
  }
}

function toUpdates(services: Readonly<Record<string, ServiceConfig>>): DiscoveryUpdate[] {
  return Object.values(services).map((s) => ({
    service: s.name,
    endpoints: s.endpoints.map((e) => ({ host: e.host, port: e.port, weight: e.weight, zone: e.zone, tags: e.tags })),
  }))
}
