/**
 * Anti-entropy: push-pull exchanges of the full state, and how a received state turns into
 * claims. As in memberlist, a member the remote holds dead is merged as *suspect* (we do not kill
 * on hearsay; our own probes decide), left stays left, and the remote's suspicions count as
 * suspicions from it. Tombstones we do not hold are not learned (a claim about an unknown member
 * other than alive is ignored by the precedence rules).
 */
import type { PushPull } from './codec.js'
import type { GossipCounters } from './counters.js'
import type { GossipLogger } from './api.js'
import type { Claim } from './member.js'
import { aliveClaim } from './member.js'
import { formatAddress, type GossipTransport, type HostPort } from './transport.js'
import type { Wire } from './wire.js'

export function remoteClaims(remote: PushPull): Claim[] {
  const out: Claim[] = []
  for (const m of remote.members) {
    switch (m.state) {
      case 'alive':
        out.push(aliveClaim({ ...m, changedAt: 0 }))
        break
      case 'suspect':
      case 'dead':
        out.push({ type: 'suspect', name: m.name, incarnation: m.incarnation, from: remote.from })
        break
      case 'left':
        out.push({ type: 'left', name: m.name, incarnation: m.incarnation })
        break
    }
  }
  return out
}

/** Full syncs are spread out in large clusters: ×(ceil(log2 n − log2 32) + 1) above 32 members. */
export function pushPullIntervalMs(baseMs: number, n: number): number {
  if (n <= 32) return baseMs
  return baseMs * (Math.ceil(Math.log2(n) - Math.log2(32)) + 1)
}

export interface AntiEntropyHooks {
  /** This node's full state, to send. */
  localState(join: boolean): PushPull
  /** Applies a remote full state. */
  merge(remote: PushPull): void
  /** False once the node stops: late answers are then ignored and exchanges refused. */
  running(): boolean
}

/** Push-pull exchanges over the transport's streams, both ways. */
export class AntiEntropy {
  constructor(
    private readonly wire: Wire,
    private readonly transport: GossipTransport,
    private readonly counters: GossipCounters,
    private readonly log: GossipLogger,
    private readonly timeoutMs: number,
    private readonly hooks: AntiEntropyHooks,
  ) {}

  /** Sends our state to `to`, merges its answer. True when the exchange completed. */
  async exchange(to: HostPort, join: boolean): Promise<boolean> {
    try {
      const answer = await this.transport.exchange({ host: to.host, port: to.port }, this.wire.sealFrame(this.hooks.localState(join)), this.timeoutMs)
      if (!this.hooks.running()) return false
      const remote = this.wire.openFrame(answer, to)
      if (remote === undefined) throw new Error('unusable answer')
      this.hooks.merge(remote)
      this.counters.pushPulls++
      return true
    } catch (err) {
      this.counters.pushPullFailures++
      this.log.debug({ peer: formatAddress(to), err: (err as Error).message }, 'push-pull failed')
      return false
    }
  }

  /** Answers a peer's exchange with our state (taken before merging theirs). */
  // eslint-disable-next-line @typescript-eslint/require-await -- TransportHandlers.exchange is async; a throw must reject
  async answer(request: Buffer, from: HostPort): Promise<Buffer | undefined> {
    if (!this.hooks.running()) return undefined
    const mine = this.hooks.localState(false)
    const remote = this.wire.openFrame(request, from)
    if (remote === undefined) return undefined
    this.hooks.merge(remote)
    this.counters.pushPulls++
    return this.wire.sealFrame(mine)
  }
}
