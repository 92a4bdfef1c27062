/**
 * Operator maintenance: the endpoints (by id, `service~host:port`) and the local services (by
 * name) an operator took out of rotation (`POST /v1/endpoints/{id}/drain`,
 * `POST /v1/local/{name}/drain`), HAProxy's `set server ... state maint` and Consul's
 * maintenance mode. An endpoint in maintenance is not picked (in-flight requests finish) and
 * panic routing never brings it back; a local service in maintenance is announced with the
 * maintenance flag over gossip, so every sidecar stops sending to it.
 *
 * Kept by id, not on the Endpoint, so it survives a config reload and an endpoint that leaves
 * and comes back (ServiceEndpoints asks `endpoint(id)` when an endpoint appears). In memory
 * only: a restart ends it (Consul's maintenance is not persisted either unless asked).
 */
import { EventHub } from '../listeners.js'

export type MaintenanceTarget = 'endpoint' | 'local'

export interface MaintenanceChange {
  readonly target: MaintenanceTarget
  /** Endpoint id or local service name. */
  readonly id: string
  readonly on: boolean
}

export interface MaintenanceEvents {
  changed?(change: MaintenanceChange): void
}

export class Maintenance {
  private readonly endpoints = new Set<string>()
  private readonly locals = new Set<string>()
  private readonly hub = new EventHub<MaintenanceEvents>()

  /** True when the endpoint with this id is in maintenance here. */
  endpoint(id: string): boolean {
    return this.endpoints.size > 0 && this.endpoints.has(id)
  }

  /** True when this node's local service `name` is in maintenance (announced so over gossip). */
  local(name: string): boolean {
    return this.locals.size > 0 && this.locals.has(name)
  }

  /** Turns maintenance on or off; false when it already was so (nothing emitted). */
  set(target: MaintenanceTarget, id: string, on: boolean): boolean {
    const set = target === 'endpoint' ? this.endpoints : this.locals
    if (set.has(id) === on) return false
    if (on) set.add(id)
    else set.delete(id)
    this.hub.emit('changed', { target, id, on })
    return true
  }

  /** What is in maintenance now, sorted. */
  list(): { readonly endpoints: readonly string[]; readonly local: readonly string[] } {
    return { endpoints: [...this.endpoints].sort(), local: [...this.locals].sort() }
  }

  on(listener: MaintenanceEvents): () => void {
    return this.hub.on(listener)
  }
}
