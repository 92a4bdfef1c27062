/**
 * Adapts the running parts (AdminParts: the data plane's view and the other plugins, provided by
 * the Runtime) to what the admin server reads (AdminSourceParts): members from the gossip plugin
 * (this node alone without gossip), endpoint history and recent alerts from the health plugin.
 */
import type { Clock } from '../clock.js'
import type { MemberInfo } from '../membership/api.js'
import type { SidecarConfig } from '../config/types.js'
import type { GossipPlugin } from '../plugins/gossip.js'
import type { HealthPlugin } from '../plugins/health.js'
import type { DataPlaneView } from '../plugins/plugin.js'
import type { ResiliencePlugin } from '../plugins/resilience.js'
import type { TraceSpanCounts } from './metrics.js'
import type { AdminSourceParts } from './source.js'
import type { MemberView } from './view.js'
import type { LogLevels } from '../log-levels.js'
import type { Maintenance } from '../endpoint/maintenance.js'

export function memberView(m: MemberInfo): MemberView {
  return {
    name: m.name,
    address: m.address,
    state: m.state,
    incarnation: m.incarnation,
    zone: m.zone ?? null,
    services: [...new Set(m.meta.services.map((s) => s.name))],
    self: m.self,
  }
}

/** The result of a reload the admin API asked for. */
export interface ReloadResult {
  readonly ok: boolean
  readonly version?: string
  readonly error?: string
}

/** What the admin plugin reads and steers of one running commy (the Runtime provides it). */
export interface AdminParts {
  readonly resilience: ResiliencePlugin
  readonly health: HealthPlugin
  readonly gossip: GossipPlugin | undefined
  /** The config served now. */
  readonly config: () => SidecarConfig
  readonly readiness: () => { ready: boolean; reason?: string }
  readonly reload: () => Promise<ReloadResult>
  readonly drain: () => Promise<void>
  /** Reverses a drain; false when not draining. */
  readonly undrain: () => Promise<boolean>
  readonly draining: () => boolean
  /** Run-time log levels (PUT /v1/log-level). */
  readonly logLevels?: LogLevels
  /** The operator's maintenance (applied by the data plane and the gossip plugin). */
  readonly maintenance: Maintenance
  /** The tracer's span counts (undefined: tracing off). */
  readonly traceSpans?: () => TraceSpanCounts
}

/** `dataPlane` is the view the plugin was attached to (undefined before). */
export function runtimeSourceParts(parts: AdminParts, dataPlane: () => DataPlaneView | undefined, clock: Clock, version: string): AdminSourceParts {
  const gossip = parts.gossip
  return {
    version,
    config: parts.config,
    services: () => dataPlane()?.endpoints.services() ?? [],
    now: () => clock.now(),
    startedAt: () => dataPlane()?.startedAt ?? 0,
    draining: parts.draining,
    readiness: parts.readiness,
    members: gossip ? () => gossip.members().map(memberView) : undefined,
    history: parts.health.history,
    alerts: () => parts.health.alerts.recent(),
    certificates: () => dataPlane()?.tls?.certificates() ?? [],
  }
}
