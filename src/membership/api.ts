/**
 * Membership's public shapes: what it takes (options, a pino-compatible logger), what it tells
 * (member info, the event table; Membership fans it out with commy's EventHub: a listener that
 * throws is logged, never breaks the protocol).
 */
import type { Clock, Random } from '../clock.js'
import type { GossipConfig } from '../config/types.js'
import type { GossipObserver } from './counters.js'
import type { Member, MemberState, NodeMeta } from './member.js'
import type { SeedResolver } from './seed-resolver.js'
import { formatAddress, type GossipTransport } from './transport.js'

/** The pino methods used (a pino Logger fits). */
export interface GossipLogger {
  debug(obj: object, msg?: string): void
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
  error(obj: object, msg?: string): void
}

export interface MembershipOptions {
  readonly config: GossipConfig
  readonly node: { readonly name: string; readonly zone?: string | undefined; readonly adminAddress?: string | undefined }
  readonly transport: GossipTransport
  readonly clock: Clock
  readonly random: Random
  readonly logger: GossipLogger
  /** Current event-loop delay in ms (e.g. LoopLagMonitor.delayMs), fed into local health. */
  readonly eventLoopDelay?: () => number
  readonly observer?: GossipObserver
  /** Services offered at start. */
  readonly meta?: NodeMeta
  /** DNS for seed names (default: the system's resolver). */
  readonly resolver?: SeedResolver
  /** Members known before joining (the simulator primes large clusters this way). */
  readonly initialMembers?: readonly Member[]
  /** Replay window and maximum packet age (ms, default 120 s). */
  readonly replayWindowMs?: number
}

/** A member as the rest of commy sees it. */
export interface MemberInfo {
  readonly name: string
  /** Gossip address `host:port`. */
  readonly address: string
  readonly host: string
  readonly port: number
  readonly state: MemberState
  readonly incarnation: number
  readonly zone: string | undefined
  readonly adminAddress: string | undefined
  readonly meta: NodeMeta
  readonly self: boolean
}

export interface MembershipEvents {
  /** A member appeared or its state changed (alive, suspect, dead, left). */
  change: (member: MemberInfo, previous: MemberInfo | undefined) => void
  /** Same state, new incarnation, address or metadata (e.g. its services). */
  update: (member: MemberInfo, previous: MemberInfo) => void
  /** A tombstone was reaped. */
  forget: (name: string) => void
  /** The mesh-wide weight factor of an endpoint changed (see MeshHealth). */
  'mesh-health': (endpoint: string, factor: number) => void
  /** The first push-pull with a seed succeeded (or there was no seed to join: none, or only this node). */
  joined: () => void
}

export function toInfo(m: Member, self: string): MemberInfo {
  return {
    name: m.name,
    address: formatAddress(m),
    host: m.host,
    port: m.port,
    state: m.state,
    incarnation: m.incarnation,
    zone: m.zone === '' ? undefined : m.zone,
    adminAddress: m.adminAddress === '' ? undefined : m.adminAddress,
    meta: m.meta,
    self: m.name === self,
  }
}
