/**
 * A member record and the precedence rules of SWIM, as one pure function: given what this node
 * holds about a member and a claim heard about it (gossip, push-pull, a probe verdict), `decide`
 * says whether to ignore it, apply it, count it as a suspicion confirmation, or refute it (a
 * claim about ourselves that must be countered with a higher incarnation).
 *
 * Order, for one member: a higher incarnation wins; at the same incarnation
 * left > dead > suspect > alive. Dead and left are tombstones: only an alive with a strictly
 * higher incarnation brings the member back, so stale gossip cannot resurrect it.
 */

export type MemberState = 'alive' | 'suspect' | 'dead' | 'left'
/** Health of an announced service as its own node's local check sees it. */
export type ServiceHealth = 'unknown' | 'healthy' | 'unhealthy'

/** One service a node offers, as announced over gossip. */
export interface ServiceAnnouncement {
  readonly name: string
  readonly host: string
  readonly port: number
  readonly weight: number
  readonly tags: readonly string[]
  readonly health: ServiceHealth
  /**
   * Announced at this node's mTLS inbound listener (`host:port` is the inbound address, not the
   * app's): callers connect with their mesh certificate. Absent = plaintext (the wire format of
   * a service without it is the previous one, byte for byte).
   */
  readonly mtls?: boolean
  /** Its node's operator put it in maintenance: nobody picks it. Absent = in rotation (previous wire format). */
  readonly maintenance?: boolean
}

/** A node's metadata. Versioned by the node's incarnation: each change bumps it. */
export interface NodeMeta {
  readonly services: readonly ServiceAnnouncement[]
}

export const EMPTY_META: NodeMeta = Object.freeze({ services: Object.freeze([]) })

/** What a node holds about one member (immutable; replaced on each change). */
export interface Member {
  readonly name: string
  readonly host: string
  readonly port: number
  readonly state: MemberState
  readonly incarnation: number
  /** '' = none. */
  readonly zone: string
  /** '' = none. */
  readonly adminAddress: string
  readonly meta: NodeMeta
  /** Clock ms of the last state change (tombstone age, gossip to the recently dead). */
  readonly changedAt: number
}

export interface AliveClaim {
  readonly type: 'alive'
  readonly name: string
  readonly incarnation: number
  readonly host: string
  readonly port: number
  readonly zone: string
  readonly adminAddress: string
  readonly meta: NodeMeta
}
export interface SuspectClaim {
  readonly type: 'suspect'
  readonly name: string
  readonly incarnation: number
  /** Who suspects it. */
  readonly from: string
}
export interface DeadClaim {
  readonly type: 'dead'
  readonly name: string
  readonly incarnation: number
  readonly from: string
}
export interface LeftClaim {
  readonly type: 'left'
  readonly name: string
  readonly incarnation: number
}
export type Claim = AliveClaim | SuspectClaim | DeadClaim | LeftClaim

export type Verdict =
  | { readonly kind: 'ignore'; readonly reason: string }
  | { readonly kind: 'refute'; readonly reason: string }
  | { readonly kind: 'confirm'; readonly from: string }
  | { readonly kind: 'apply'; readonly next: Member; readonly reason: string }

export interface DecideContext {
  /** This node's name. */
  readonly self: string
  readonly now: number
  /** True once this node is leaving (or stopped): claims about it are then ignored. */
  readonly leaving: boolean
}

const RANK: Readonly<Record<MemberState, number>> = { alive: 0, suspect: 1, dead: 2, left: 3 }

export function isLive(state: MemberState): boolean {
  return state === 'alive' || state === 'suspect'
}

export function sameMeta(a: NodeMeta, b: NodeMeta): boolean {
  if (a === b) return true
  if (a.services.length !== b.services.length) return false
  for (let i = 0; i < a.services.length; i++) {
    const x = a.services[i]!
    const y = b.services[i]!
    if (x.name !== y.name || x.host !== y.host || x.port !== y.port || x.weight !== y.weight || x.health !== y.health) return false
    if (x.mtls !== y.mtls || x.maintenance !== y.maintenance) return false
    if (x.tags.length !== y.tags.length || x.tags.some((t, j) => t !== y.tags[j])) return false
  }
  return true
}

function sameIdentity(m: Member, c: AliveClaim): boolean {
  return m.host === c.host && m.port === c.port && m.zone === c.zone && m.adminAddress === c.adminAddress && sameMeta(m.meta, c.meta)
}

export function aliveClaim(m: Member): AliveClaim {
  return { type: 'alive', name: m.name, incarnation: m.incarnation, host: m.host, port: m.port, zone: m.zone, adminAddress: m.adminAddress, meta: m.meta }
}

export function memberFromAlive(c: AliveClaim, now: number): Member {
  return { name: c.name, host: c.host, port: c.port, state: 'alive', incarnation: c.incarnation, zone: c.zone, adminAddress: c.adminAddress, meta: c.meta, changedAt: now }
}

function withState(m: Member, state: MemberState, incarnation: number, now: number): Member {
  return { ...m, state, incarnation, changedAt: state === m.state ? m.changedAt : now }
}

/** The precedence rules. Pure: no clock reads, no I/O. */
export function decide(current: Member | undefined, claim: Claim, ctx: DecideContext): Verdict {
  if (claim.name === ctx.self) return decideAboutSelf(current, claim, ctx)
  if (current === undefined) {
    if (claim.type === 'alive') return { kind: 'apply', next: memberFromAlive(claim, ctx.now), reason: 'joined' }
    return { kind: 'ignore', reason: `${claim.type} about an unknown member` }
  }
  const inc = claim.incarnation
  switch (claim.type) {
    case 'alive': {
      if (inc > current.incarnation) {
        const next = memberFromAlive(claim, current.state === 'alive' ? current.changedAt : ctx.now)
        const reason = current.state === 'alive' ? 'updated' : current.state === 'suspect' ? 'refuted suspicion' : 'rejoined'
        return { kind: 'apply', next, reason }
      }
      return { kind: 'ignore', reason: inc < current.incarnation ? 'stale alive' : 'alive at the current incarnation' }
    }
    case 'suspect': {
      if (!isLive(current.state)) return { kind: 'ignore', reason: `suspect about a ${current.state} member` }
      if (inc < current.incarnation) return { kind: 'ignore', reason: 'stale suspect' }
      if (current.state === 'suspect' && inc === current.incarnation) return { kind: 'confirm', from: claim.from }
      return { kind: 'apply', next: withState(current, 'suspect', inc, ctx.now), reason: `suspected by ${claim.from}` }
    }
    case 'dead':
    case 'left': {
      if (inc < current.incarnation) return { kind: 'ignore', reason: `stale ${claim.type}` }
      if (RANK[claim.type] <= RANK[current.state] && inc === current.incarnation) return { kind: 'ignore', reason: `already ${current.state}` }
      const reason = claim.type === 'left' ? 'left the cluster' : `declared dead by ${claim.from}`
      return { kind: 'apply', next: withState(current, claim.type, inc, ctx.now), reason }
    }
  }
}

function decideAboutSelf(current: Member | undefined, claim: Claim, ctx: DecideContext): Verdict {
  if (ctx.leaving) return { kind: 'ignore', reason: 'we are leaving' }
  const mine = current?.incarnation ?? 0
  const inc = claim.incarnation
  switch (claim.type) {
    case 'alive':
      if (inc > mine) return { kind: 'refute', reason: 'a newer alive about us (we restarted?)' }
      if (inc === mine && current !== undefined && !sameIdentity(current, claim)) {
        return { kind: 'refute', reason: 'a conflicting alive about us' }
      }
      return { kind: 'ignore', reason: 'our own alive' }
    case 'suspect':
      if (inc < mine) return { kind: 'ignore', reason: 'stale suspicion of us' }
      return { kind: 'refute', reason: `suspected by ${claim.from}` }
    case 'dead':
    case 'left':
      if (inc < mine) return { kind: 'ignore', reason: `stale ${claim.type} about us` }
      return { kind: 'refute', reason: claim.type === 'left' ? 'told we left' : `declared dead by ${claim.from}` }
  }
}
