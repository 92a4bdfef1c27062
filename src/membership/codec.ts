/**
 * The gossip wire format: versioned, compact, binary. One UDP packet is
 *
 *   [version u8 = 1] ( [type u8] [length u16] [body] )*
 *
 * so several messages ride in one packet (a probe plus piggybacked broadcasts) and a decoder can
 * skip a message type it does not know. A push-pull frame (TCP) is `[version] [type = 16] [body]`.
 * Strings are `[length u8] [utf-8]`; integers big-endian.
 *
 * A service's health byte carries flags in its high bits: bit 7 = `mtls` (announced at an mTLS
 * inbound listener). A service without flags is encoded exactly as before the flag existed, so
 * old and new nodes read each other's frames as long as no node announces mTLS; an old node
 * drops a frame that does (bad health value: counted as malformed), which fails closed: it never
 * learns an mTLS endpoint it would call in plaintext. Upgrade every node before turning on
 * `inbound`. Bit 6 = `maintenance` (the node's operator took the service out of rotation, Consul's
 * maintenance mode), under the same rule: absent, the frame is the previous one byte for byte; an
 * old node drops a frame that carries it (it never reads it as another health value).
 *
 * Every decoder treats its input as hostile: each read is bounds-checked, counts are capped before
 * anything is allocated, enums are validated, and `decodePacket` / `decodePushPull` return a
 * result instead of throwing, whatever the bytes.
 */
import { isUtf8 } from 'node:buffer'
import type { Claim, Member, MemberState, NodeMeta, ServiceAnnouncement, ServiceHealth } from './member.js'
import { GossipDecodeError } from './errors.js'

export const WIRE_VERSION = 1
/** Bytes a message adds besides its body. */
export const MESSAGE_OVERHEAD = 3
export const PACKET_HEADER = 1

export const LIMITS = Object.freeze({
  servicesPerNode: 64,
  tagsPerService: 32,
  membersPerPushPull: 100_000,
  healthPerPushPull: 100_000,
  /** Largest push-pull frame accepted (bytes). */
  pushPullBytes: 16 * 1024 * 1024,
})

/** Message type codes on the wire. */
export const MessageType = Object.freeze({
  Ping: 1,
  PingReq: 2,
  Ack: 3,
  Nack: 4,
  Alive: 5,
  Suspect: 6,
  Dead: 7,
  Left: 8,
  Health: 9,
  PushPull: 16,
} as const)

export interface Ping {
  readonly type: 'ping'
  readonly seq: number
  /** Name of the member this ping is for (a restarted process at a reused address says no). */
  readonly target: string
  readonly source: string
}
export interface PingReq {
  readonly type: 'ping-req'
  readonly seq: number
  readonly target: string
  readonly host: string
  readonly port: number
  readonly source: string
  /** Lifeguard: answer with a nack when the target does not answer in time. */
  readonly nack: boolean
}
export interface Ack {
  readonly type: 'ack'
  readonly seq: number
}
export interface Nack {
  readonly type: 'nack'
  readonly seq: number
}
/** "Endpoint X is failing (or recovered), as seen from `reporter`" (passive health sharing). */
export interface HealthReport {
  readonly type: 'health'
  readonly reporter: string
  readonly endpoint: string
  readonly failing: boolean
  /** Reporter's wall-clock ms when it made the report: a newer one replaces an older one. */
  readonly version: number
}
export type Message = Ping | PingReq | Ack | Nack | Claim | HealthReport

/** A member as push-pull carries it (everything but the local timestamp). */
export type WireMember = Omit<Member, 'changedAt'>

export interface PushPull {
  readonly join: boolean
  readonly from: string
  readonly members: readonly WireMember[]
  readonly health: readonly HealthReport[]
}

export type PacketResult =
  | { readonly ok: true; readonly messages: Message[]; readonly unknown: number }
  | { readonly ok: false; readonly reason: 'version' | 'malformed'; readonly detail: string }

export type PushPullResult = { readonly ok: true; readonly value: PushPull } | { readonly ok: false; readonly reason: 'version' | 'malformed'; readonly detail: string }

/** Flag bits of a service's health byte (the low bits are the HEALTHS index). */
const MTLS_FLAG = 0x80
const MAINTENANCE_FLAG = 0x40
const HEALTH_MASK = 0x3f

const STATES: readonly MemberState[] = ['alive', 'suspect', 'dead', 'left']
const HEALTHS: readonly ServiceHealth[] = ['unknown', 'healthy', 'unhealthy']
const TYPE_NAMES: Readonly<Record<number, Message['type']>> = {
  [MessageType.Ping]: 'ping',
  [MessageType.PingReq]: 'ping-req',
  [MessageType.Ack]: 'ack',
  [MessageType.Nack]: 'nack',
  [MessageType.Alive]: 'alive',
  [MessageType.Suspect]: 'suspect',
  [MessageType.Dead]: 'dead',
  [MessageType.Left]: 'left',
  [MessageType.Health]: 'health',
}

// ---------------------------------------------------------------- writing

class Writer {
  buf: Buffer
  pos = 0
  constructor(size = 128) {
    this.buf = Buffer.allocUnsafe(size)
  }
  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return
    let size = this.buf.length * 2
    while (size < this.pos + n) size *= 2
    const next = Buffer.allocUnsafe(size)
    this.buf.copy(next, 0, 0, this.pos)
    this.buf = next
  }
  u8(v: number): void {
    this.room(1)
    this.buf[this.pos++] = v
  }
  u16(v: number): void {
    this.room(2)
    this.buf.writeUInt16BE(v, this.pos)
    this.pos += 2
  }
  u32(v: number): void {
    this.room(4)
    this.buf.writeUInt32BE(v >>> 0, this.pos)
    this.pos += 4
  }
  f64(v: number): void {
    this.room(8)
    this.buf.writeDoubleBE(v, this.pos)
    this.pos += 8
  }
  str(s: string): void {
    const n = Buffer.byteLength(s)
    if (n > 255) throw new RangeError(`gossip string longer than 255 bytes: ${s.slice(0, 40)}…`)
    this.room(1 + n)
    this.buf[this.pos++] = n
    this.pos += this.buf.write(s, this.pos, 'utf8')
  }
  done(): Buffer {
    return this.buf.subarray(0, this.pos)
  }
}

function writeMeta(w: Writer, meta: NodeMeta): void {
  const services = meta.services
  if (services.length > LIMITS.servicesPerNode) throw new RangeError(`more than ${LIMITS.servicesPerNode} services`)
  w.u8(services.length)
  for (const s of services) {
    if (s.tags.length > LIMITS.tagsPerService) throw new RangeError(`more than ${LIMITS.tagsPerService} tags`)
    w.str(s.name)
    w.str(s.host)
    w.u16(s.port)
    w.u16(s.weight)
    w.u8(HEALTHS.indexOf(s.health) | (s.mtls === true ? MTLS_FLAG : 0) | (s.maintenance === true ? MAINTENANCE_FLAG : 0))
    w.u8(s.tags.length)
    for (const t of s.tags) w.str(t)
  }
}

function writeIdentity(w: Writer, m: { name: string; incarnation: number; host: string; port: number; zone: string; adminAddress: string; meta: NodeMeta }): void {
  w.u32(m.incarnation)
  w.str(m.name)
  w.str(m.host)
  w.u16(m.port)
  w.str(m.zone)
  w.str(m.adminAddress)
  writeMeta(w, m.meta)
}

function writeHealth(w: Writer, h: HealthReport): void {
  w.str(h.reporter)
  w.str(h.endpoint)
  w.u8(h.failing ? 1 : 0)
  w.f64(h.version)
}

function writeBody(w: Writer, m: Message): number {
  switch (m.type) {
    case 'ping':
      w.u32(m.seq)
      w.str(m.target)
      w.str(m.source)
      return MessageType.Ping
    case 'ping-req':
      w.u32(m.seq)
      w.u8(m.nack ? 1 : 0)
      w.str(m.target)
      w.str(m.host)
      w.u16(m.port)
      w.str(m.source)
      return MessageType.PingReq
    case 'ack':
      w.u32(m.seq)
      return MessageType.Ack
    case 'nack':
      w.u32(m.seq)
      return MessageType.Nack
    case 'alive':
      writeIdentity(w, m)
      return MessageType.Alive
    case 'suspect':
    case 'dead':
      w.u32(m.incarnation)
      w.str(m.name)
      w.str(m.from)
      return m.type === 'suspect' ? MessageType.Suspect : MessageType.Dead
    case 'left':
      w.u32(m.incarnation)
      w.str(m.name)
      return MessageType.Left
    case 'health':
      writeHealth(w, m)
      return MessageType.Health
  }
}

/** One message as it sits in a packet: `[type][length][body]`. Throws RangeError on oversized fields. */
export function encodeMessage(m: Message): Buffer {
  const w = new Writer(m.type === 'alive' ? 256 : 64)
  w.pos = MESSAGE_OVERHEAD
  const type = writeBody(w, m)
  const len = w.pos - MESSAGE_OVERHEAD
  if (len > 0xffff) throw new RangeError('gossip message larger than 64 KiB')
  w.buf[0] = type
  w.buf.writeUInt16BE(len, 1)
  return w.done()
}

/** A packet from already-encoded messages. */
export function encodePacket(messages: readonly Uint8Array[]): Buffer {
  let size = PACKET_HEADER
  for (const m of messages) size += m.length
  const out = Buffer.allocUnsafe(size)
  out[0] = WIRE_VERSION
  let pos = PACKET_HEADER
  for (const m of messages) {
    out.set(m, pos)
    pos += m.length
  }
  return out
}

export function encodePushPull(p: PushPull): Buffer {
  const w = new Writer(256 + p.members.length * 64)
  w.u8(WIRE_VERSION)
  w.u8(MessageType.PushPull)
  w.u8(p.join ? 1 : 0)
  w.str(p.from)
  w.u32(p.members.length)
  for (const m of p.members) {
    w.u8(STATES.indexOf(m.state))
    writeIdentity(w, m)
  }
  w.u32(p.health.length)
  for (const h of p.health) writeHealth(w, h)
  return w.done()
}

// ---------------------------------------------------------------- reading

class Reader {
  pos: number
  constructor(
    readonly buf: Buffer,
    start: number,
    readonly end: number,
  ) {
    this.pos = start
  }
  private need(n: number): void {
    if (this.pos + n > this.end) throw new GossipDecodeError(`truncated at byte ${this.pos} (need ${n} more)`)
  }
  u8(): number {
    this.need(1)
    return this.buf[this.pos++]!
  }
  u16(): number {
    this.need(2)
    const v = this.buf.readUInt16BE(this.pos)
    this.pos += 2
    return v
  }
  u32(): number {
    this.need(4)
    const v = this.buf.readUInt32BE(this.pos)
    this.pos += 4
    return v
  }
  f64(): number {
    this.need(8)
    const v = this.buf.readDoubleBE(this.pos)
    this.pos += 8
    if (!Number.isFinite(v)) throw new GossipDecodeError('non-finite number')
    return v
  }
  str(): string {
    const n = this.u8()
    this.need(n)
    // invalid UTF-8 would decode to U+FFFD (3 bytes each): a 255-byte field could no longer be re-encoded
    if (!isUtf8(this.buf.subarray(this.pos, this.pos + n))) throw new GossipDecodeError(`invalid UTF-8 at byte ${this.pos}`)
    const s = this.buf.toString('utf8', this.pos, this.pos + n)
    this.pos += n
    return s
  }
  name(): string {
    const s = this.str()
    if (s === '') throw new GossipDecodeError('empty name')
    return s
  }
  enumOf<T>(values: readonly T[], what: string): T {
    const i = this.u8()
    if (i >= values.length) throw new GossipDecodeError(`bad ${what} ${i}`)
    return values[i]!
  }
}

function readMeta(r: Reader): NodeMeta {
  const count = r.u8()
  if (count > LIMITS.servicesPerNode) throw new GossipDecodeError(`too many services (${count})`)
  if (count === 0) return { services: [] }
  const services: ServiceAnnouncement[] = []
  for (let i = 0; i < count; i++) {
    const name = r.name()
    const host = r.name()
    const port = r.u16()
    const weight = r.u16()
    const flags = r.u8()
    if ((flags & HEALTH_MASK) >= HEALTHS.length) throw new GossipDecodeError(`bad health ${flags}`)
    const health = HEALTHS[flags & HEALTH_MASK]!
    const nt = r.u8()
    if (nt > LIMITS.tagsPerService) throw new GossipDecodeError(`too many tags (${nt})`)
    const tags: string[] = []
    for (let j = 0; j < nt; j++) tags.push(r.str())
    const s: ServiceAnnouncement = flags & MTLS_FLAG ? { name, host, port, weight, health, tags, mtls: true } : { name, host, port, weight, health, tags }
    services.push(flags & MAINTENANCE_FLAG ? { ...s, maintenance: true } : s)
  }
  return { services }
}

function readIdentity(r: Reader): Omit<WireMember, 'state'> {
  const incarnation = r.u32()
  const name = r.name()
  const host = r.str()
  const port = r.u16()
  const zone = r.str()
  const adminAddress = r.str()
  const meta = readMeta(r)
  return { name, incarnation, host, port, zone, adminAddress, meta }
}

function readHealth(r: Reader): HealthReport {
  const reporter = r.name()
  const endpoint = r.name()
  const failing = r.u8() !== 0
  const version = r.f64()
  return { type: 'health', reporter, endpoint, failing, version }
}

function readBody(r: Reader, type: Message['type']): Message {
  switch (type) {
    case 'ping':
      return { type, seq: r.u32(), target: r.name(), source: r.name() }
    case 'ping-req': {
      const seq = r.u32()
      const nack = r.u8() !== 0
      return { type, seq, nack, target: r.name(), host: r.name(), port: r.u16(), source: r.name() }
    }
    case 'ack':
    case 'nack':
      return { type, seq: r.u32() }
    case 'alive':
      return { type, ...readIdentity(r) }
    case 'suspect':
    case 'dead':
      return { type, incarnation: r.u32(), name: r.name(), from: r.name() }
    case 'left':
      return { type, incarnation: r.u32(), name: r.name() }
    case 'health':
      return readHealth(r)
  }
}

/** Every failure is a drop, never a throw; one that is not our typed decode error is a bug, and says so. */
function fail(err: unknown): { ok: false; reason: 'malformed'; detail: string } {
  return { ok: false, reason: 'malformed', detail: err instanceof GossipDecodeError ? err.message : `unexpected ${String(err)}` }
}

/** Decodes one UDP packet. Never throws. Unknown message types are skipped and counted. */
export function decodePacket(buf: Buffer): PacketResult {
  if (buf.length < PACKET_HEADER) return { ok: false, reason: 'malformed', detail: 'empty packet' }
  if (buf[0] !== WIRE_VERSION) return { ok: false, reason: 'version', detail: `wire version ${buf[0]}` }
  const messages: Message[] = []
  let unknown = 0
  let pos = PACKET_HEADER
  try {
    while (pos < buf.length) {
      if (pos + MESSAGE_OVERHEAD > buf.length) throw new GossipDecodeError('truncated message header')
      const code = buf[pos]!
      const len = buf.readUInt16BE(pos + 1)
      const start = pos + MESSAGE_OVERHEAD
      const end = start + len
      if (end > buf.length) throw new GossipDecodeError(`message length ${len} past the end of the packet`)
      const name = TYPE_NAMES[code]
      if (name === undefined) unknown++
      else {
        const r = new Reader(buf, start, end)
        messages.push(readBody(r, name))
        if (r.pos !== end) throw new GossipDecodeError(`${name} has ${end - r.pos} trailing bytes`)
      }
      pos = end
    }
  } catch (err) {
    return fail(err)
  }
  return { ok: true, messages, unknown }
}

/** Decodes a push-pull frame. Never throws. */
export function decodePushPull(buf: Buffer): PushPullResult {
  if (buf.length < 2) return { ok: false, reason: 'malformed', detail: 'empty frame' }
  if (buf[0] !== WIRE_VERSION) return { ok: false, reason: 'version', detail: `wire version ${buf[0]}` }
  if (buf.length > LIMITS.pushPullBytes) return { ok: false, reason: 'malformed', detail: 'frame too large' }
  try {
    const r = new Reader(buf, 1, buf.length)
    if (r.u8() !== MessageType.PushPull) throw new GossipDecodeError('not a push-pull frame')
    const join = r.u8() !== 0
    const from = r.name()
    const count = r.u32()
    // each member needs at least 13 bytes: reject impossible counts before allocating
    if (count > LIMITS.membersPerPushPull || count * 13 > buf.length) throw new GossipDecodeError(`bad member count ${count}`)
    const members: WireMember[] = []
    for (let i = 0; i < count; i++) {
      const state = r.enumOf(STATES, 'state')
      members.push({ state, ...readIdentity(r) })
    }
    const hc = r.u32()
    if (hc > LIMITS.healthPerPushPull || hc * 12 > buf.length) throw new GossipDecodeError(`bad health count ${hc}`)
    const health: HealthReport[] = []
    for (let i = 0; i < hc; i++) health.push(readHealth(r))
    if (r.pos !== buf.length) throw new GossipDecodeError('trailing bytes after push-pull')
    return { ok: true, value: { join, from, members, health } }
  } catch (err) {
    return fail(err)
  }
}

/** The message type of an encoded message (for counters), without decoding it. */
export function typeOfEncoded(m: Uint8Array): Message['type'] | 'unknown' {
  return TYPE_NAMES[m[0]!] ?? 'unknown'
}
