/**
 * The membership layer's counters, in one place: messages and bytes in and out by type, and every
 * reason a packet or stream was dropped. A plain object the admin API can read (`snapshot()`),
 * plus an optional observer the composition root points at the Prometheus metrics (the admin
 * Metrics class has exactly these method names).
 */
export type Direction = 'in' | 'out'

export interface GossipObserver {
  gossipMessage?(direction: Direction, type: string, bytes?: number): void
  gossipBytes?(direction: Direction, bytes: number): void
  gossipAuthFailure?(): void
  gossipDrop?(kind: DropKind, reason: DropReason): void
}

/** Why an incoming packet or stream was dropped before any message in it was used. */
export type DropReason =
  | 'auth' // failed decryption/authentication, or plaintext while keys are set, or the reverse
  | 'replay' // sequence number already seen, or too far behind
  | 'stale' // sent-at outside the replay window
  | 'cluster' // plaintext packet of another cluster
  | 'version' // unknown envelope or wire version
  | 'malformed' // truncated, bad field, or a stream closed before its whole frame
  | 'oversize' // a stream announced a frame over the push-pull frame limit
  | 'limit' // stream slots (all, or per source) or the buffered-bytes budget: refused, evicted or cut
  | 'timeout' // a stream's header or whole frame did not arrive in time

/** What was dropped: a UDP datagram or an inbound TCP stream (push-pull). */
export type DropKind = 'packet' | 'stream'

/** The reasons each kind can be dropped for: every combination is exported (at 0) from the start. */
export const DROP_REASONS: Readonly<Record<DropKind, readonly DropReason[]>> = Object.freeze({
  packet: Object.freeze(['auth', 'replay', 'stale', 'cluster', 'version', 'malformed'] as const),
  stream: Object.freeze(['auth', 'replay', 'stale', 'cluster', 'version', 'malformed', 'oversize', 'limit', 'timeout'] as const),
})

/** The drops a transport sees itself (the rest are the envelope's and the decoder's verdicts). */
export type StreamDropReason = Extract<DropReason, 'malformed' | 'oversize' | 'limit' | 'timeout'>

function zeroDrops(): Record<DropReason, number> {
  return { auth: 0, replay: 0, stale: 0, cluster: 0, version: 0, malformed: 0, oversize: 0, limit: 0, timeout: 0 }
}

export interface CounterSnapshot {
  readonly messagesIn: Readonly<Record<string, number>>
  readonly messagesOut: Readonly<Record<string, number>>
  readonly packetsIn: number
  readonly packetsOut: number
  readonly bytesIn: number
  readonly bytesOut: number
  /** Drops by reason, packets and streams together. */
  readonly drops: Readonly<Record<DropReason, number>>
  /** Drops by kind and reason. */
  readonly dropped: Readonly<Record<DropKind, Readonly<Record<DropReason, number>>>>
  /** Messages of a type this version does not know (skipped). */
  readonly unknownMessages: number
  /** Pings addressed to another member name (a reused address). */
  readonly misdirectedPings: number
  readonly handlerErrors: number
  readonly pushPulls: number
  readonly pushPullFailures: number
  readonly refutations: number
  /** Probes that got no ack at all (this node then suspected the target). */
  readonly failedProbes: number
  readonly suspicions: number
  readonly deaths: number
}

export class GossipCounters {
  readonly messagesIn: Record<string, number> = {}
  readonly messagesOut: Record<string, number> = {}
  packetsIn = 0
  packetsOut = 0
  bytesIn = 0
  bytesOut = 0
  readonly drops: Record<DropReason, number> = zeroDrops()
  readonly dropped: Record<DropKind, Record<DropReason, number>> = { packet: zeroDrops(), stream: zeroDrops() }
  unknownMessages = 0
  misdirectedPings = 0
  handlerErrors = 0
  pushPulls = 0
  pushPullFailures = 0
  refutations = 0
  failedProbes = 0
  suspicions = 0
  deaths = 0

  constructor(private readonly observer: GossipObserver | undefined) {}

  /** Auth failures, replays and stale packets: what a security dashboard shows. */
  get authFailures(): number {
    return this.drops.auth
  }

  message(direction: Direction, type: string): void {
    const table = direction === 'in' ? this.messagesIn : this.messagesOut
    table[type] = (table[type] ?? 0) + 1
    this.observer?.gossipMessage?.(direction, type, 0)
  }

  packet(direction: Direction, bytes: number): void {
    if (direction === 'in') {
      this.packetsIn++
      this.bytesIn += bytes
    } else {
      this.packetsOut++
      this.bytesOut += bytes
    }
    this.observer?.gossipBytes?.(direction, bytes)
  }

  drop(reason: DropReason, kind: DropKind = 'packet'): void {
    this.drops[reason]++
    this.dropped[kind][reason]++
    if (reason === 'auth') this.observer?.gossipAuthFailure?.()
    this.observer?.gossipDrop?.(kind, reason)
  }

  snapshot(): CounterSnapshot {
    return {
      messagesIn: { ...this.messagesIn },
      messagesOut: { ...this.messagesOut },
      packetsIn: this.packetsIn,
      packetsOut: this.packetsOut,
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      drops: { ...this.drops },
      dropped: { packet: { ...this.dropped.packet }, stream: { ...this.dropped.stream } },
      unknownMessages: this.unknownMessages,
      misdirectedPings: this.misdirectedPings,
      handlerErrors: this.handlerErrors,
      pushPulls: this.pushPulls,
      pushPullFailures: this.pushPullFailures,
      refutations: this.refutations,
      failedProbes: this.failedProbes,
      suspicions: this.suspicions,
      deaths: this.deaths,
    }
  }
}
