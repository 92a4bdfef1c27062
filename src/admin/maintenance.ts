/**
 * The runtime controls of the admin API (HAProxy's runtime API, Consul's maintenance mode):
 *
 *   POST /v1/endpoints/{id}/drain | undrain   one endpoint (id as in /v1/endpoints, URL-encoded)
 *   POST /v1/local/{name}/drain | undrain     one of this node's local services, gossiped
 *   POST /v1/drain, POST /v1/undrain           the whole sidecar (routes.ts; recorded here too)
 *
 * Every action is write access (the token rules of security.ts), logged, counted and published by
 * maintenance-log.ts. The state itself lives in endpoint/maintenance.ts; the data plane and the
 * gossip plugin apply it.
 */
import type { IncomingMessage } from 'node:http'
import type { SidecarConfig } from '../config/types.js'
import type { Endpoint } from '../endpoint/endpoint.js'
import type { Maintenance, MaintenanceTarget } from '../endpoint/maintenance.js'
import type { AdminRoute } from './routes.js'
import type { AdminActions } from './view.js'
import { AdminNotFoundError } from './errors.js'
import { sendJson } from './responses.js'
import type { AdminActionRecorder } from './maintenance-log.js'

export function maintenanceRoutes(actions: AdminActions, record: AdminActionRecorder): AdminRoute[] {
  const maintain = (target: MaintenanceTarget) => (req: IncomingMessage, id: string, verb: string) => {
    const r = actions.maintenance(target, id, verb === 'drain')
    if (r === undefined) throw new AdminNotFoundError(target === 'endpoint' ? `no endpoint with id "${id}"` : `no local service named "${id}"`)
    record.maintenance(req, r)
    return r
  }
  const endpoint = maintain('endpoint')
  const local = maintain('local')
  return [
    {
      method: 'POST',
      path: /^\/v1\/endpoints\/([^/]+)\/(drain|undrain)$/,
      access: 'write',
      handle: ({ req, res, params }) => sendJson(res, 200, endpoint(req, params[0]!, params[1]!)),
    },
    {
      method: 'POST',
      path: /^\/v1\/local\/([^/]+)\/(drain|undrain)$/,
      access: 'write',
      handle: ({ req, res, params }) => sendJson(res, 200, local(req, params[0]!, params[1]!)),
    },
  ]
}

/**
 * AdminActions.maintenance over the real parts. A local service is found by name in
 * `local.services`; an endpoint by id among the known ones (or among those in maintenance, so one
 * that left can still be taken out of it). This node's own announced endpoint also puts its local
 * service in maintenance: the flag is gossiped and every sidecar stops sending to it.
 */
export function maintenanceAction(maintenance: Maintenance, endpoints: () => readonly Endpoint[], config: () => SidecarConfig): AdminActions['maintenance'] {
  return (target, id, on) => {
    const cfg = config()
    const isLocal = (name: string) => cfg.local.services.some((s) => s.name === name)
    if (target === 'local') return isLocal(id) ? { target, id, maintenance: on, changed: maintenance.set('local', id, on), local: id } : undefined
    const ep = endpoints().find((e) => e.id === id)
    if (ep === undefined && !maintenance.endpoint(id)) return undefined
    const own = ep !== undefined && ep.node === cfg.node.name && isLocal(ep.service) ? ep.service : undefined
    let changed = maintenance.set('endpoint', id, on)
    if (own === undefined) return { target, id, maintenance: on, changed }
    changed = maintenance.set('local', own, on) || changed
    return { target, id, maintenance: on, changed, local: own }
  }
}
