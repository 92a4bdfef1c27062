/**
 * GossipDiscovery: the services members announce over gossip, as DiscoveryUpdates per service.
 * Each endpoint carries the announcing node's name and zone, the announced weight and tags, and
 * `reportedHealth` from that node's own local check. Alive and suspect members count (a suspect
 * is usually fine, and is dead within the suspicion timeout if not); a dead or left member's
 * endpoints are removed at once. Incremental: a member change re-publishes only the services that
 * member offered before or offers now, so other services' pools are untouched.
 */
import type { HostPort, LocalServiceConfig } from '../config/types.js'
import { Listeners } from '../listeners.js'
import type { EndpointInfo } from '../endpoint/endpoint.js'
import type { NodeMeta, ServiceAnnouncement, ServiceHealth } from '../membership/member.js'
import type { MemberInfo, MembershipEvents } from '../membership/swim.js'
import type { DiscoveryListener, DiscoverySource, DiscoveryUpdate } from './discovery.js'

/** What GossipDiscovery needs from Membership. */
export interface MemberSource {
  members(): readonly MemberInfo[]
  on<E extends 'change' | 'update' | 'forget'>(event: E, fn: MembershipEvents[E]): () => void
}

export interface GossipDiscoveryOptions {
  /** Also publish this node's own announced services (default true). */
  readonly includeSelf?: boolean
}

type Contribution = Map<string, EndpointInfo[]>

function routable(m: MemberInfo): boolean {
  return m.state === 'alive' || m.state === 'suspect'
}

function contribution(m: MemberInfo): Contribution {
  const out: Contribution = new Map()
  if (!routable(m)) return out
  for (const s of m.meta.services) {
    const list = out.get(s.name) ?? []
    const info: EndpointInfo = { host: s.host, port: s.port, weight: s.weight, zone: m.zone, tags: s.tags, node: m.name, reportedHealth: s.health }
    const withTls = s.mtls === true ? { ...info, mtls: true } : info
    list.push(s.maintenance === true ? { ...withTls, maintenance: true } : withTls)
    out.set(s.name, list)
  }
  return out
}

function same(a: readonly EndpointInfo[] | undefined, b: readonly EndpointInfo[] | undefined): boolean {
  return JSON.stringify(a ?? []) === JSON.stringify(b ?? [])
}

export class GossipDiscovery implements DiscoverySource {
  readonly name = 'gossip'
  private readonly byMember = new Map<string, Contribution>()
  /** service -> member -> endpoints */
  private readonly byService = new Map<string, Map<string, EndpointInfo[]>>()
  private readonly listeners = new Listeners<[DiscoveryUpdate]>()
  private readonly unsubscribe: (() => void)[] = []
  private readonly includeSelf: boolean
  private started = false

  constructor(
    private readonly source: MemberSource,
    options: GossipDiscoveryOptions = {},
  ) {
    this.includeSelf = options.includeSelf ?? true
  }

  start(): void {
    if (this.started) return
    this.started = true
    this.unsubscribe.push(
      this.source.on('change', (m) => this.changed(m)),
      this.source.on('update', (m) => this.changed(m)),
      this.source.on('forget', (name) => this.forget(name)),
    )
    for (const m of this.source.members()) this.changed(m)
  }

  stop(): void {
    while (this.unsubscribe.length > 0) this.unsubscribe.pop()!()
    this.listeners.clear()
    this.started = false
  }

  subscribe(listener: DiscoveryListener): () => void {
    const off = this.listeners.add(listener)
    for (const u of this.current()) listener(u)
    return off
  }

  /** Every service with at least one endpoint, as the listeners last heard it. */
  current(): DiscoveryUpdate[] {
    return [...this.byService.keys()].map((s) => this.update(s))
  }

  private changed(m: MemberInfo): void {
    if (m.self && !this.includeSelf) return
    this.replace(m.name, contribution(m))
  }

  private forget(name: string): void {
    this.replace(name, new Map())
  }

  private replace(member: string, next: Contribution): void {
    const prev = this.byMember.get(member) ?? new Map<string, EndpointInfo[]>()
    const touched = new Set<string>()
    for (const s of new Set([...prev.keys(), ...next.keys()])) if (!same(prev.get(s), next.get(s))) touched.add(s)
    if (next.size === 0) this.byMember.delete(member)
    else this.byMember.set(member, next)
    for (const s of touched) {
      let members = this.byService.get(s)
      const eps = next.get(s)
      if (eps !== undefined) {
        if (members === undefined) {
          members = new Map()
          this.byService.set(s, members)
        }
        members.set(member, eps)
      } else members?.delete(member)
      const u = this.update(s)
      if (members !== undefined && members.size === 0) this.byService.delete(s)
      this.listeners.emit(u)
    }
  }

  private update(service: string): DiscoveryUpdate {
    const members = this.byService.get(service)
    const endpoints: EndpointInfo[] = []
    if (members !== undefined) for (const name of [...members.keys()].sort()) endpoints.push(...members.get(name)!)
    return { service, endpoints }
  }
}

/**
 * The metadata a sidecar announces for its local services (sidecar.yaml `local.services`), with
 * each one's health from its local check (`unknown` when it has none or no verdict yet).
 * With an mTLS inbound listener (`inbound`), every service is announced at `inbound` with
 * `mtls: true`: the app's own address stays private to the node.
 * A service in maintenance (`maintenance(name)`, endpoint/maintenance.ts) carries `maintenance: true`.
 * Pass the result to Membership.setLocalMeta whenever a local health verdict or maintenance changes.
 */
export function localAnnouncements(
  services: readonly LocalServiceConfig[],
  health: (service: string) => ServiceHealth = () => 'unknown',
  inbound?: HostPort,
  maintenance: (service: string) => boolean = () => false,
): NodeMeta {
  return {
    services: services.map((s) => {
      const a: ServiceAnnouncement =
        inbound === undefined ?
          { name: s.name, host: s.host, port: s.port, weight: s.weight, tags: s.tags, health: health(s.name) }
        : { name: s.name, host: inbound.host, port: inbound.port, weight: s.weight, tags: s.tags, health: health(s.name), mtls: true }
      return maintenance(s.name) ? { ...a, maintenance: true } : a
    }),
  }
}
