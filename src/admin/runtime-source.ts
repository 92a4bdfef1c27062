/**
 * Adapts the running parts (RuntimeParts: the sidecar and the other plugins) to what the admin
 * server reads (AdminSourceParts). The other plugins expose their readers as optional members:
 * gossip `members()`, health `history` (a HistoryReader) and `alerts` (a list, or an evaluator
 * with `recent()`); whatever is absent gets the null default of createAdminSource (this node
 * alone, empty histories, no alerts).
 */
import type { Clock } from '../clock.js'
import type { MemberInfo } from '../membership/api.js'
import type { RuntimeParts } from '../runtime.js'
import type { AdminSourceParts, HistoryReader } from './source.js'
import type { AlertView, MemberView } from './view.js'

/** The readers a plugin may carry, looked up by name. */
interface Readers {
  readonly members?: () => readonly MemberInfo[]
  readonly history?: HistoryReader
  readonly alerts?: (() => readonly AlertView[]) | { recent(): readonly AlertView[] }
}

function readers(plugin: unknown): Readers {
  return (typeof plugin === 'object' && plugin !== null ? plugin : {}) as Readers
}

/** The member list of the gossip plugin, if it has one. */
export function membersOf(gossip: unknown): (() => readonly MemberView[]) | undefined {
  const g = readers(gossip)
  if (typeof g.members !== 'function') return undefined
  return () => g.members!.call(gossip).map(memberView)
}

export function memberView(m: MemberInfo): MemberView {
  return {
    name: m.name,
    address: m.address,
    state: m.state,
    incarnation: m.incarnation,
    zone: m.zone ?? null,
    services: [...new Set((m.meta?.services ?? []).map((s) => s.name))],
    self: m.self,
  }
}

/** The health plugin's history reader, if it has one. */
export function historyOf(health: unknown): HistoryReader | undefined {
  const h = readers(health).history
  return h !== undefined && typeof h.endpointHistory === 'function' ? h : undefined
}

/** The health plugin's recent alerts (newest first), if it has them. */
export function alertsOf(health: unknown): (() => readonly AlertView[]) | undefined {
  const a = readers(health).alerts
  if (typeof a === 'function') return () => a.call(health)
  if (typeof a === 'object' && a !== null && typeof a.recent === 'function') return () => a.recent()
  return undefined
}

export function runtimeSourceParts(parts: RuntimeParts, clock: Clock, version: string): AdminSourceParts {
  return {
    version,
    config: parts.config,
    services: () => parts.sidecar().registry.services(),
    now: () => clock.now(),
    startedAt: () => parts.sidecar().startedAt,
    draining: parts.draining,
    readiness: parts.readiness,
    members: membersOf(parts.gossip),
    history: historyOf(parts.health),
    alerts: alertsOf(parts.health),
  }
}
