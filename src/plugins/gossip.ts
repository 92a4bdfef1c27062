/**
 * The gossip plugin: issue #5's membership wired into a running sidecar.
 *
 * - One Membership (SWIM + Lifeguard) over UDP/TCP bound to `gossip.listen` (port 0 picks one;
 *   `address()` tells the advertised one). Node metadata: name, zone, admin address, and the
 *   services this node offers (`local.services`) with their health from the health plugin's
 *   local checks, re-announced (a new incarnation) whenever a local verdict changes or a reload
 *   changes the local services. With `inbound` (mTLS), they are announced at the inbound address
 *   with `mtls: true`; the apps' own addresses stay private to the node.
 * - `sources`: [GossipDiscovery] — the services other members announce become endpoints of the
 *   services configured here (tags, zone, weight and reported health included); a dead or left
 *   member's endpoints go at once.
 * - Mesh passive health: an endpoint ejected here by outlier detection is reported to the mesh
 *   while any ejection of it lasts; the quorum's weight factor lands on Endpoint.meshFactor.
 * - Lifeguard's local health is fed by the event-loop delay the resilience plugin measures.
 * - readiness(): ready once a seed answered, or as a cluster of one (membership/join-state.ts):
 *   at once when there is nobody else to ask (no seed; seeds that resolve to nothing or only to
 *   this node), else after `gossip.joinTimeout`; joining goes on in the background. leave(): stop
 *   announcing local services and leave gracefully (peers learn within about a second).
 * - reload(config): local services re-announced, new seeds joined at once (later retries use the
 *   new list); other gossip settings apply after a restart (logged).
 */
import type { GossipConfig, HostPort, SidecarConfig } from '../config/types.js'
import type { HealthPlugin } from './health.js'
import type { MemberInfo } from '../membership/api.js'
import type { CounterSnapshot } from '../membership/counters.js'
import { EMPTY_META, type NodeMeta } from '../membership/member.js'
import type { SeedResolver } from '../membership/seed-resolver.js'
import { Membership } from '../membership/swim.js'
import { isSettled } from '../membership/join-state.js'
import { formatAddress, type GossipTransport } from '../membership/transport.js'
import { streamLimits } from '../membership/stream-limits.js'
import { UdpTransport } from '../membership/udp-transport.js'
import type { DataPlaneView, Plugin, PluginDeps } from './plugin.js'
import type { EjectionEndedEvent, EjectionEvent, LagEvent } from '../resilience/events.js'
import { GossipDiscovery, localAnnouncements } from '../discovery/gossip.js'
import type { Maintenance } from '../endpoint/maintenance.js'

export interface GossipPlugin extends Plugin {
  /** Ready once joined, or serving as a cluster of one (see membership/join-state.ts). */
  readiness(): { ready: boolean; reason?: string }
  /** Stop announcing local services and leave the cluster (drain); the transport stays bound for rejoin(). */
  leave(): Promise<void>
  /** After leave(): announce the local services again and rejoin the cluster (undrain). */
  rejoin(): Promise<void>
  /** Every member known, this node and tombstones included (admin API). */
  members(): readonly MemberInfo[]
  /** Membership's counters: messages, bytes, drops by reason, probes, suspicions (admin API, metrics). */
  counters(): CounterSnapshot
  /** The advertised gossip address (after start; a port 0 in the config shows the bound one). */
  address(): HostPort | undefined
  /** The metadata this node announces now. */
  announced(): NodeMeta
  readonly membership: Membership
  readonly discovery: GossipDiscovery
}

/** What the plugin reads from the resilience plugin (`on()` of ResiliencePlugin). */
export interface ResilienceFeed {
  on(events: { ejection?(e: EjectionEvent): void; ejectionEnded?(e: EjectionEndedEvent): void; lag?(e: LagEvent): void }): () => void
}

export interface GossipPluginDeps extends PluginDeps {
  readonly gossip: GossipConfig
  /** Only `local` is read: the health of this node's own services. */
  readonly health: Pick<HealthPlugin, 'local'>
  /** Ejections are reported to the mesh; its loop-lag events feed Lifeguard's local health. */
  readonly resilience?: ResilienceFeed
  /** The bound admin address, announced to peers (read when gossip starts, after the admin server). */
  readonly adminAddress?: () => HostPort | undefined
  /** The bound mTLS inbound address (when `inbound` is set; read when announcing). */
  readonly inboundAddress?: () => HostPort | undefined
  /** Tests: another transport (default: UDP/TCP on gossip.listen). */
  readonly transport?: GossipTransport
  /** DNS for seed names (default: the system's resolver). */
  readonly resolver?: SeedResolver
  /** Local services in maintenance are announced with the flag (re-announced when it changes). */
  readonly maintenance?: Pick<Maintenance, 'local' | 'on'>
}

/**
 * Which endpoints this sidecar has ejected, by address: the mesh hears "failing" when the first
 * ejection of an address starts and "recovered" when the last one ends (one address may serve
 * several services), or when the endpoint leaves the registry.
 */
class EjectionReports {
  private readonly ejected = new Map<string, Set<string>>()

  constructor(private readonly report: (address: string, failing: boolean) => void) {}

  started(address: string, endpointId: string): void {
    let ids = this.ejected.get(address)
    if (ids === undefined) this.ejected.set(address, (ids = new Set()))
    const first = ids.size === 0
    ids.add(endpointId)
    if (first) this.report(address, true)
  }

  ended(address: string, endpointId: string): void {
    const ids = this.ejected.get(address)
    if (ids === undefined || !ids.delete(endpointId) || ids.size > 0) return
    this.ejected.delete(address)
    this.report(address, false)
  }
}

const isWildcard = (host: string) => host === '0.0.0.0' || host === '::'

/** The gossip config Membership gets: the seeds follow reloads, everything else is fixed. */
function withSeeds(gossip: GossipConfig, seeds: () => readonly string[]): GossipConfig {
  return Object.freeze(Object.defineProperty({ ...gossip }, 'seeds', { get: seeds, enumerable: true }))
}

/** Every gossip setting but the seeds, comparable. */
function fixedSettings(g: GossipConfig): string {
  return JSON.stringify({ ...g, seeds: undefined, keys: g.keys.map((k) => k.toString('base64')) })
}

export function createGossipPlugin(deps: GossipPluginDeps): GossipPlugin {
  const { gossip, health, clock, random, logger } = deps
  let config: SidecarConfig = deps.config
  let seeds: readonly string[] = gossip.seeds
  let dataPlane: DataPlaneView | undefined
  let state: 'new' | 'running' | 'left' | 'stopped' = 'new'
  let stopping: Promise<void> | undefined
  let loopDelayMs = 0
  const offs: (() => void)[] = []

  const localServices = () => deps.currentConfig().local.services
  const statusOf = (service: string) => health.local.status(service)?.health ?? 'unknown'
  /** Where local services are announced with an mTLS inbound: inbound.advertise, or the gossip advertise host and the inbound port. */
  const inboundAt = (): HostPort | undefined => {
    const cfg = deps.currentConfig()
    if (cfg.inbound === undefined || cfg.tls === undefined) return undefined
    if (cfg.inbound.advertise !== undefined) return cfg.inbound.advertise
    return { host: gossip.advertise.host, port: deps.inboundAddress?.()?.port ?? cfg.inbound.listen.port }
  }
  const inMaintenance = (service: string) => deps.maintenance?.local(service) ?? false
  const announcement = (): NodeMeta => (state === 'left' ? EMPTY_META : localAnnouncements(localServices(), statusOf, inboundAt(), inMaintenance))
  const adminAddress = (): string | undefined => {
    const a = deps.adminAddress?.() ?? (config.admin.listen.port !== 0 ? config.admin.listen : undefined)
    if (a === undefined) return undefined
    return formatAddress(isWildcard(a.host) && !isWildcard(gossip.advertise.host) ? { host: gossip.advertise.host, port: a.port } : a)
  }

  const membership = new Membership({
    config: withSeeds(gossip, () => seeds),
    node: {
      name: config.node.name,
      zone: config.node.zone,
      // read when gossip starts, after the admin server has bound its port
      get adminAddress() {
        return adminAddress()
      },
    },
    transport: deps.transport ?? new UdpTransport({ listen: gossip.listen, ...streamLimits(gossip) }),
    clock,
    random,
    logger,
    eventLoopDelay: () => loopDelayMs,
    meta: announcement(),
    resolver: deps.resolver,
  })
  const discovery = new GossipDiscovery(membership)
  const ejections = new EjectionReports((address, failing) => membership.reportEndpoint(address, failing))

  const announce = (why: string): void => {
    try {
      const meta = announcement()
      membership.setLocalMeta(meta)
      logger.debug({ why, services: meta.services.map((s) => `${s.name}@${s.host}:${s.port} ${s.health}`) }, 'local services announced')
    } catch (err) {
      logger.error({ err, why }, 'local services cannot be announced over gossip')
    }
  }

  /** A mesh-wide weight factor changed: every service's endpoint at that address follows. */
  const applyFactor = (address: string, factor: number): void => {
    for (const s of dataPlane?.endpoints.services() ?? []) {
      const ep = s.get(address)
      if (ep !== undefined) ep.meshFactor = factor
    }
    const reporters = membership.meshReporters(address)
    if (factor < 1) logger.info({ endpoint: address, factor, reporters }, 'endpoint weight lowered: a quorum of sidecars report it failing')
    else logger.info({ endpoint: address, reporters }, 'endpoint weight restored: no quorum of failure reports')
  }

  const leave = async (): Promise<void> => {
    if (state !== 'running') return
    state = 'left'
    announce('leaving')
    await membership.pause()
  }

  const rejoin = async (): Promise<void> => {
    if (state !== 'left') return
    state = 'running'
    announce('rejoining') // kept by membership for the alive claim of rejoin()
    await membership.rejoin()
    logger.info({ services: localServices().map((s) => s.name) }, 'gossip: rejoined, local services announced again')
  }

  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (state !== 'left') state = 'stopped'
      while (offs.length > 0) offs.pop()!()
      await membership.stop()
      state = 'stopped'
    })()
    return stopping
  }

  return {
    sources: [discovery],
    membership,
    discovery,
    attach(view) {
      dataPlane = view
      offs.push(
        view.endpoints.on({
          added: (ep) => void (ep.meshFactor = membership.meshHealth(ep.address)),
          removed: (ep) => ejections.ended(ep.address, ep.id),
        }),
      )
    },
    async start() {
      if (state !== 'new') return
      state = 'running'
      offs.push(
        health.local.onChange((st) => {
          logger.info({ service: st.name, health: st.health, reason: st.reason || undefined }, 'local service health changed: re-announcing')
          announce('local health changed')
        }),
        membership.on('mesh-health', applyFactor),
      )
      const maintenance = deps.maintenance
      if (maintenance !== undefined) {
        offs.push(
          maintenance.on({
            changed: (c) => {
              if (c.target === 'local' && state === 'running') announce(`maintenance ${c.on ? 'on' : 'off'}: ${c.id}`)
            },
          }),
        )
      }
      if (deps.resilience !== undefined) {
        offs.push(
          deps.resilience.on({
            ejection: (e) => ejections.started(e.endpoint, e.endpointId),
            ejectionEnded: (e) => ejections.ended(e.endpoint, e.endpointId),
            lag: (e) => void (loopDelayMs = e.lagging ? e.delayMs : 0),
          }),
        )
      }
      announce('starting')
      await membership.start()
      logger.info(
        { address: membership.address && formatAddress(membership.address), joined: membership.joined, services: localServices().map((s) => s.name) },
        'gossip plugin started',
      )
    },
    stop,
    leave,
    rejoin,
    reload(next) {
      const prev = config
      config = next
      if (state === 'running') announce('config reloaded')
      const g = next.gossip
      if (g === undefined) {
        logger.warn('gossip removed from the config: restart to leave the mesh (gossip keeps running)')
        return
      }
      if (next.node.name !== prev.node.name || next.node.zone !== prev.node.zone) {
        logger.warn({ name: next.node.name, zone: next.node.zone }, 'node name or zone changed: restart to announce them over gossip')
      }
      if (fixedSettings(g) !== fixedSettings(gossip)) logger.warn('gossip settings other than seeds changed: restart to apply them')
      if (g.seeds.join('\n') === seeds.join('\n')) return
      const added = g.seeds.filter((s) => !seeds.includes(s))
      seeds = g.seeds
      logger.info({ seeds, added }, 'gossip seeds changed')
      if (added.length > 0 && state === 'running') {
        void membership.join(added).then((outcome) => logger.info({ seeds: added, outcome }, 'join attempt through the new seeds'))
      }
    },
    readiness() {
      if (state === 'new') return { ready: false, reason: 'gossip: not started' }
      if (state !== 'running') return { ready: false, reason: 'gossip: left the cluster' }
      if (isSettled(membership.joinStatus)) return { ready: true }
      return { ready: false, reason: `gossip: joining, no seed answered yet (ready as a cluster of one after ${gossip.joinTimeoutMs} ms)` }
    },
    members: () => membership.members(),
    counters: () => membership.counters.snapshot(),
    address: () => membership.address,
    announced: () => membership.member(membership.name)?.meta ?? announcement(),
  }
}
