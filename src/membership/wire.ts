/**
 * Packets and frames in and out, with the counting: a datagram is the caller's messages plus as
 * many queued broadcasts as fit under the MTU, sealed by the envelope; what arrives is opened and
 * decoded, and anything dropped (authentication, replay, cluster, version, malformed) is counted
 * by reason. Push-pull frames go through the same envelope on their own channel.
 */
import type { BroadcastQueue } from './broadcast-queue.js'
import { decodePacket, decodePushPull, encodeMessage, encodePacket, encodePushPull, PACKET_HEADER, typeOfEncoded, type Message, type PushPull } from './codec.js'
import { GossipMetaError } from './errors.js'
import type { DropKind, DropReason, GossipCounters } from './counters.js'
import type { Envelope } from './envelope.js'
import type { GossipLogger } from './api.js'
import { formatAddress, type GossipTransport, type HostPort } from './transport.js'

export interface WireOptions {
  readonly envelope: Envelope
  readonly transport: GossipTransport
  readonly queue: BroadcastQueue
  readonly counters: GossipCounters
  readonly mtu: number
  /** Current cluster size, for the broadcasts' retransmit limit. */
  readonly clusterSize: () => number
  readonly log: GossipLogger
}

export class Wire {
  constructor(private readonly o: WireOptions) {}

  /** Bytes left for messages in one datagram. */
  get room(): number {
    return this.o.mtu - this.o.envelope.overhead - PACKET_HEADER
  }

  /** Throws GossipMetaError unless `m` encodes and fits a datagram with `spare` bytes to spare (for a probe beside it). */
  assertFits(m: Message, spare: number): void {
    let size: number
    try {
      size = encodeMessage(m).length
    } catch (err) {
      throw new GossipMetaError(`node metadata cannot be encoded: ${(err as Error).message}`, { cause: err })
    }
    const limit = this.room - spare
    if (size > limit) throw new GossipMetaError(`node metadata is ${size} bytes encoded; the limit under the MTU is ${limit}`)
  }

  /** Sends `primary` messages, with queued broadcasts piggybacked unless `piggyback` is false. */
  send(to: HostPort, primary: readonly Uint8Array[], piggyback = true): void {
    let size = this.o.envelope.overhead + PACKET_HEADER
    for (const p of primary) size += p.length
    const extra = piggyback ? this.o.queue.take(this.o.clusterSize(), 0, this.o.mtu - size) : []
    const all = extra.length > 0 ? [...primary, ...extra] : primary
    if (all.length === 0) return
    const data = this.o.envelope.seal(encodePacket(all), 'packet')
    for (const m of all) this.o.counters.message('out', typeOfEncoded(m))
    this.o.counters.packet('out', data.length)
    this.o.transport.send({ host: to.host, port: to.port }, data)
  }

  /** The messages of a datagram, or undefined when it was dropped (and counted). */
  receive(data: Buffer, from: HostPort): Message[] | undefined {
    this.o.counters.packet('in', data.length)
    const opened = this.o.envelope.open(data, 'packet')
    if (!opened.ok) return this.dropped(opened.reason, from, 'packet')
    const decoded = decodePacket(opened.payload)
    if (!decoded.ok) return this.dropped(decoded.reason, from, 'packet')
    this.o.counters.unknownMessages += decoded.unknown
    for (const m of decoded.messages) this.o.counters.message('in', m.type)
    return decoded.messages
  }

  sealFrame(state: PushPull): Buffer {
    const data = this.o.envelope.seal(encodePushPull(state), 'stream')
    this.o.counters.message('out', 'push-pull')
    this.o.counters.packet('out', data.length)
    return data
  }

  /** The state in a push-pull frame, or undefined when it was dropped (and counted). */
  openFrame(frame: Buffer, from: HostPort): PushPull | undefined {
    this.o.counters.packet('in', frame.length)
    const opened = this.o.envelope.open(frame, 'stream')
    if (!opened.ok) return this.dropped(opened.reason, from, 'stream')
    const decoded = decodePushPull(opened.payload)
    if (!decoded.ok) return this.dropped(decoded.reason, from, 'stream')
    this.o.counters.message('in', 'push-pull')
    return decoded.value
  }

  private dropped(reason: DropReason | 'plaintext' | 'encrypted', from: HostPort, kind: DropKind): undefined {
    this.o.counters.drop(reason === 'plaintext' || reason === 'encrypted' ? 'auth' : reason, kind)
    this.o.log.debug({ from: formatAddress(from), reason, kind }, 'gossip packet dropped')
    return undefined
  }
}
