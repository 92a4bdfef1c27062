/**
 * Adapts the running parts (RuntimeParts: the sidecar and the other plugins) to what the admin
 * server reads (AdminSourceParts): members from the gossip plugin (this node alone without
 * gossip), endpoint history and recent alerts from the health plugin.
 */
import type { Clock } from '../clock.js'
import type { MemberInfo } from '../membership/api.js'
import type { RuntimeParts } from '../runtime.js'
import type { AdminSourceParts } from './source.js'
import type { MemberView } from './view.js'

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

export function runtimeSourceParts(parts: RuntimeParts, clock: Clock, version: string): AdminSourceParts {
  const gossip = parts.gossip
  return {
    version,
    config: parts.config,
    services: () => parts.sidecar().registry.services(),
    now: () => clock.now(),
    startedAt: () => parts.sidecar().startedAt,
    draining: parts.draining,
    readiness: parts.readiness,
    members: gossip ? () => gossip.members().map(memberView) : undefined,
    history: parts.health.history,
    alerts: () => parts.health.alerts.recent(),
  }
}
