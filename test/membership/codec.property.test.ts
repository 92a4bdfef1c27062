/**
 * Property-based tests (fast-check) of the gossip decoder: whatever the bytes, decodePacket,
 * decodePushPull and Envelope.open return a result and never throw (and any failure comes from
 * our typed GossipDecodeError, not a foreign error); what we encode decodes to the same value;
 * truncated or bit-flipped input is rejected or decodes to something we can encode again; a
 * sealed packet with any bit flipped is refused. Runs are bounded (a few hundred each).
 */
import { randomBytes } from 'node:crypto'
import { isDeepStrictEqual } from 'node:util'
import fc from 'fast-check'
import t from 'tap'
import { decodePacket, decodePushPull, encodeMessage, encodePacket, encodePushPull, LIMITS, MessageType, WIRE_VERSION, type Message, type PushPull, type WireMember } from '../../src/membership/codec.js'
import { Envelope } from '../../src/membership/envelope.js'
import type { NodeMeta } from '../../src/membership/member.js'

const RUNS = { numRuns: 300 }
const now = () => 1_700_000_000_000

// ---------------------------------------------------------------- arbitraries

/** A wire string: up to 255 UTF-8 bytes (40 code points of up to 4 bytes stay under). */
const str = fc.string({ maxLength: 40, unit: 'grapheme' }).filter((s) => Buffer.byteLength(s) <= 255)
const name = str.filter((s) => s.length > 0)
const u32 = fc.integer({ min: 0, max: 0xffff_ffff })
const u16 = fc.integer({ min: 0, max: 0xffff })
const finite = fc.double({ noNaN: true, noDefaultInfinity: true })

const meta: fc.Arbitrary<NodeMeta> = fc.record({
  services: fc.array(
    fc.record({
      name,
      host: name,
      port: u16,
      weight: u16,
      health: fc.constantFrom('unknown' as const, 'healthy' as const, 'unhealthy' as const),
      tags: fc.array(str, { maxLength: 4 }),
      mtls: fc.constant(true),
    }, { requiredKeys: ['name', 'host', 'port', 'weight', 'health', 'tags'] }),
    { maxLength: 3 },
  ),
})
const identity = fc.record({ name, incarnation: u32, host: str, port: u16, zone: str, adminAddress: str, meta })
const health = fc.record({ type: fc.constant('health' as const), reporter: name, endpoint: name, failing: fc.boolean(), version: finite })

const message: fc.Arbitrary<Message> = fc.oneof(
  fc.record({ type: fc.constant('ping' as const), seq: u32, target: name, source: name }),
  fc.record({ type: fc.constant('ping-req' as const), seq: u32, target: name, host: name, port: u16, source: name, nack: fc.boolean() }),
  fc.record({ type: fc.constantFrom('ack' as const, 'nack' as const), seq: u32 }),
  identity.map((i) => ({ type: 'alive' as const, ...i })),
  fc.record({ type: fc.constantFrom('suspect' as const, 'dead' as const), incarnation: u32, name, from: name }),
  fc.record({ type: fc.constant('left' as const), incarnation: u32, name }),
  health,
)
const member: fc.Arbitrary<WireMember> = fc.tuple(fc.constantFrom('alive' as const, 'suspect' as const, 'dead' as const, 'left' as const), identity).map(([state, i]) => ({ state, ...i }))
const pushPull: fc.Arbitrary<PushPull> = fc.record({ join: fc.boolean(), from: name, members: fc.array(member, { maxLength: 8 }), health: fc.array(health, { maxLength: 4 }) })

/** Arbitrary bytes, and arbitrary bytes behind a valid header (so the decoder gets past the first checks). */
const bytes = fc.uint8Array({ maxLength: 600 }).map((a) => Buffer.from(a))
const packetish = fc.oneof(bytes, bytes.map((b) => Buffer.concat([Buffer.from([WIRE_VERSION]), b])))
const frameish = fc.oneof(bytes, bytes.map((b) => Buffer.concat([Buffer.from([WIRE_VERSION, MessageType.PushPull]), b])))

/** Deep equality of plain data, whatever the key order or prototype (fast-check records may have none). */
const same = (a: unknown, b: unknown): boolean => isDeepStrictEqual(JSON.parse(JSON.stringify(a)), JSON.parse(JSON.stringify(b)))

function typedFailure(r: { ok: boolean; reason?: string; detail?: string }): boolean {
  return r.ok || ((r.reason === 'malformed' || r.reason === 'version') && !String(r.detail).startsWith('unexpected'))
}

// ---------------------------------------------------------------- properties

t.test('arbitrary bytes: the decoders return a result, never throw, and fail only with our typed error', async (t) => {
  fc.assert(fc.property(packetish, (b) => typedFailure(decodePacket(b))), RUNS)
  fc.assert(fc.property(frameish, (b) => typedFailure(decodePushPull(b))), RUNS)
  const keyed = new Envelope({ keys: [randomBytes(32)], cluster: 'c', wallNow: now })
  const plain = new Envelope({ keys: [], cluster: 'c', wallNow: now })
  const sealedish = fc.oneof(bytes, bytes.map((b) => Buffer.concat([Buffer.from([0x21]), b])), bytes.map((b) => Buffer.concat([Buffer.from([0x11, 1, 0x63]), b])))
  fc.assert(
    fc.property(sealedish, fc.constantFrom('packet' as const, 'stream' as const), (b, channel) => {
      const k = keyed.open(b, channel)
      const p = plain.open(b, channel)
      // keyed: nothing random authenticates; plain: only bytes that carry the right cluster open
      return !k.ok && (p.ok ? b[0] === 0x11 && b[1] === 1 && b[2] === 0x63 : true)
    }),
    RUNS,
  )
  t.pass('300 runs each')
})

t.test('encode → decode round-trips every message, packet and push-pull', async (t) => {
  fc.assert(
    fc.property(fc.array(message, { minLength: 1, maxLength: 6 }), (msgs) => {
      const decoded = decodePacket(encodePacket(msgs.map(encodeMessage)))
      return decoded.ok && decoded.unknown === 0 && same(decoded.messages, msgs)
    }),
    RUNS,
  )
  fc.assert(
    fc.property(pushPull, (p) => {
      const decoded = decodePushPull(encodePushPull(p))
      return decoded.ok && same(decoded.value, p)
    }),
    RUNS,
  )
  t.pass('round trips hold')
})

t.test('truncated input is rejected (a packet may keep its whole leading messages)', async (t) => {
  fc.assert(
    fc.property(pushPull, fc.nat(), (p, cut) => {
      const full = encodePushPull(p)
      return !decodePushPull(full.subarray(0, cut % full.length)).ok
    }),
    RUNS,
  )
  fc.assert(
    fc.property(fc.array(message, { minLength: 1, maxLength: 6 }), fc.nat(), (msgs, cut) => {
      const full = encodePacket(msgs.map(encodeMessage))
      const d = decodePacket(full.subarray(0, cut % full.length))
      if (!d.ok) return typedFailure(d)
      // only a cut on a message boundary decodes: to the messages before it
      return same(d.messages, msgs.slice(0, d.messages.length)) && d.messages.length < msgs.length
    }),
    RUNS,
  )
  t.pass('truncations rejected')
})

t.test('bit flips are rejected or decode to a value that encodes again (safely)', async (t) => {
  const flip = (b: Buffer, bit: number): Buffer => {
    const out = Buffer.from(b)
    const i = bit % (out.length * 8)
    out[i >> 3]! ^= 1 << (i & 7)
    return out
  }
  fc.assert(
    fc.property(pushPull, fc.nat(), (p, bit) => {
      const d = decodePushPull(flip(encodePushPull(p), bit))
      if (!d.ok) return typedFailure(d)
      encodePushPull(d.value) // throws if a decoded field could not go back on the wire
      return d.value.members.length <= LIMITS.membersPerPushPull
    }),
    RUNS,
  )
  fc.assert(
    fc.property(fc.array(message, { minLength: 1, maxLength: 4 }), fc.nat(), (msgs, bit) => {
      const d = decodePacket(flip(encodePacket(msgs.map(encodeMessage)), bit))
      if (!d.ok) return typedFailure(d)
      for (const m of d.messages) encodeMessage(m)
      return true
    }),
    RUNS,
  )
  t.pass('bit flips safe')
})

t.test('a sealed packet or frame with any bit flipped is refused as unauthenticated', async (t) => {
  const key = randomBytes(32)
  fc.assert(
    fc.property(fc.array(message, { minLength: 1, maxLength: 3 }), fc.nat(), fc.constantFrom('packet' as const, 'stream' as const), (msgs, bit, channel) => {
      const sender = new Envelope({ keys: [key], cluster: 'c', wallNow: now })
      const receiver = new Envelope({ keys: [key], cluster: 'c', wallNow: now })
      const sealed = sender.seal(encodePacket(msgs.map(encodeMessage)), channel)
      const i = bit % (sealed.length * 8)
      const bad = Buffer.from(sealed)
      bad[i >> 3]! ^= 1 << (i & 7)
      const refused = receiver.open(bad, channel)
      const opened = receiver.open(sealed, channel)
      return !refused.ok && (i < 8 ? ['version', 'auth'].includes(refused.reason) : refused.reason === 'auth') && opened.ok
    }),
    RUNS,
  )
  t.pass('tampering detected')
})

t.test('a string of invalid UTF-8 is refused: decoded, 255 bytes of it would grow to 765 and could not be sent on', async (t) => {
  const valid = encodePacket([encodeMessage({ type: 'left', incarnation: 1, name: 'x'.repeat(255) })])
  const invalid = Buffer.from(valid)
  invalid.fill(0xff, 1 + 3 + 4 + 1) // the name's bytes
  t.ok(decodePacket(valid).ok)
  t.match(decodePacket(invalid), { ok: false, reason: 'malformed', detail: /invalid UTF-8/ })
  t.throws(() => encodeMessage({ type: 'left', incarnation: 1, name: invalid.toString('utf8', 9) }), RangeError, 'what accepting it would have led to')
})
