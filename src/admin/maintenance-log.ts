/**
 * The record of each runtime control applied through the admin API (drain, undrain, maintenance
 * on/off): logged once at info with who and what, counted in `commy_admin_actions_total{action}`
 * (every action exported at 0 from the start), and published on the event stream (events.ts)
 * for the dashboard's timeline as a named event (`event: maintenance|drain|undrain`).
 */
import type { IncomingMessage } from 'node:http'
import type { MaintenanceTarget } from '../endpoint/maintenance.js'
import type { MaintenanceResult } from './view.js'

import type { AdminActionName } from './metrics.js'

/** What the event stream carries for an action (SSE `event:` is `kind`). */
export type AdminActionEvent =
  | { readonly kind: 'drain' | 'undrain'; readonly t: number; readonly by: string }
  | { readonly kind: 'maintenance'; readonly t: number; readonly by: string; readonly target: MaintenanceTarget; readonly id: string; readonly on: boolean }

export interface ActionLog {
  info(obj: object, msg?: string): void
}

/** Logs, counts and publishes each action once. */
export class AdminActionRecorder {
  constructor(
    /** Counts an action (`Metrics.adminAction`, which exports every action at 0). */
    private readonly counted: (action: Exclude<AdminActionName, 'log-level'>) => void,
    private readonly publish: (e: AdminActionEvent) => void,
    private readonly log: ActionLog,
    private readonly wallNow: () => number,
  ) {}

  drain(req: IncomingMessage, kind: 'drain' | 'undrain'): void {
    const by = caller(req)
    this.counted(kind)
    this.log.info({ action: kind, by }, kind === 'drain' ? 'admin: sidecar drain' : 'admin: sidecar undrain: serving again')
    this.publish({ kind, t: this.wallNow(), by })
  }

  maintenance(req: IncomingMessage, r: MaintenanceResult): void {
    const by = caller(req)
    this.counted(r.maintenance ? 'maintenance_on' : 'maintenance_off')
    this.log.info({ action: r.maintenance ? 'maintenance_on' : 'maintenance_off', target: r.target, id: r.id, changed: r.changed, gossiped: r.local !== undefined, by }, `admin: ${r.target} ${r.id} maintenance ${r.maintenance ? 'on' : 'off'}`)
    if (r.changed) this.publish({ kind: 'maintenance', t: this.wallNow(), by, target: r.target, id: r.id, on: r.maintenance })
  }
}

/** Who asked: the peer address, and whether a token came with it (never the token). */
function caller(req: IncomingMessage): string {
  const a = req.socket.remoteAddress ?? 'unknown'
  return req.headers.authorization !== undefined ? `${a} (token)` : a
}
