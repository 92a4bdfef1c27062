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
}

/** Why an incoming packet or stream frame was dropped before any message in it was used. */
export type DropReason =
  | 'auth' // failed decryption/authentication, or plaintext while keys are set, or the reverse
  | 'replay' // sequence number already seen, or too far behind
  | 'stale' // sent-at outside the replay window
  | 'cluster' // plaintext packet of another cluster
  | 'version' // unknown envelope or wire version
  | 'decode' // malformed (truncated, oversized, bad field)

export interface CounterSnapshot {
  readonly messagesIn: Readonly<Record<string, number>>
  readonly messagesOut: Readonly<Record<string, number>>
  readonly packetsIn: number
  readonly packetsOut: number
  readonly bytesIn: number
  readonly bytesOut: number
  readonly drops: Readonly<Record<DropReason, number>>
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
  readonly drops: Record<DropReason, number> = { auth: 0, replay: 0, stale: 0, cluster: 0, version: 0, decode: 0 }
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

  drop(reason: DropReason): void {
    this.drops[reason]++
    if (reason === 'auth') this.observer?.gossipAuthFailure?.()
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
