/** The wire format: round trips, compound packets, and hostile input (fuzz) that never throws. */
import t from 'tap'
import { seededRandom } from '../../src/clock.js'
import {
  decodePacket,
  decodePushPull,
  encodeMessage,
  encodeMessage as enc,
  encodePacket,
  encodePushPull,
  LIMITS,
  MESSAGE_OVERHEAD,
  type Message,
  type PushPull,
} from '../../src/membership/codec.js'
import { Envelope } from '../../src/membership/envelope.js'
import { TestCluster } from '../helpers/gossip-cluster.js'

const meta = {
  services: [
    { name: 'web', host: '10.0.0.1', port: 8080, weight: 5, tags: ['v2', 'gpu'], health: 'healthy' as const },
    { name: 'db', host: '10.0.0.1', port: 5432, weight: 1, tags: [], health: 'unknown' as const },
  ],
}

const samples: Message[] = [
  { type: 'ping', seq: 1, target: 'node-b', source: 'node-a' },
  { type: 'ping-req', seq: 0xffffffff, target: 'node-c', host: '10.0.0.3', port: 7946, source: 'node-a', nack: true },
  { type: 'ack', seq: 42 },
  { type: 'nack', seq: 43 },
  { type: 'alive', name: 'node-ü', incarnation: 7, host: '::1', port: 65535, zone: 'eu-1a', adminAddress: '127.0.0.1:15000', meta },
  { type: 'suspect', name: 'x', incarnation: 3, from: 'y' },
  { type: 'dead', name: 'x', incarnation: 4, from: 'z' },
  { type: 'left', name: 'x', incarnation: 5 },
  { type: 'health', reporter: 'a', endpoint: '10.0.0.9:80', failing: true, version: 1_700_000_000_123 },
]

t.test('every message type round-trips, alone and compound', async (t) => {
  for (const m of samples) {
    const r = decodePacket(encodePacket([encodeMessage(m)]))
    t.ok(r.ok, m.type)
    if (r.ok) t.same(r.messages, [m], `${m.type} round trip`)
  }
  const all = decodePacket(encodePacket(samples.map(encodeMessage)))
  t.ok(all.ok && all.messages.length === samples.length, 'compound packet')
  t.equal(encodeMessage({ type: 'ack', seq: 1 }).length, MESSAGE_OVERHEAD + 4, 'an ack is 7 bytes')
  const alive = encodeMessage(samples[4]!)
  t.ok(alive.length < 150, `an alive with two services is ${alive.length} bytes`)
})

t.test('push-pull frames round-trip', async (t) => {
  const p: PushPull = {
    join: true,
    from: 'a',
    members: [
      { name: 'a', host: '127.0.0.1', port: 1, state: 'alive', incarnation: 1, zone: 'z', adminAddress: '', meta },
      { name: 'b', host: '127.0.0.1', port: 2, state: 'left', incarnation: 9, zone: '', adminAddress: '', meta: { services: [] } },
    ],
    health: [{ type: 'health', reporter: 'a', endpoint: '1.2.3.4:5', failing: false, version: 3 }],
  }
  const r = decodePushPull(encodePushPull(p))
  t.ok(r.ok)
  if (r.ok) t.same(r.value, p)
})

t.test('unknown versions and unknown message types', async (t) => {
  const pkt = encodePacket([encodeMessage({ type: 'ack', seq: 1 })])
  pkt[0] = 9
  t.same(decodePacket(pkt), { ok: false, reason: 'version', detail: 'wire version 9' })
  // a future message type (200) between two known ones is skipped, not fatal
  const future = Buffer.from([200, 0, 3, 1, 2, 3])
  const r = decodePacket(encodePacket([encodeMessage({ type: 'ack', seq: 1 }), future, encodeMessage({ type: 'nack', seq: 2 })]))
  t.ok(r.ok && r.messages.length === 2 && r.unknown === 1, 'unknown type skipped and counted')
})

t.test('size caps are checked before allocating', async (t) => {
  const frame = encodePushPull({ join: false, from: 'a', members: [], health: [] })
  // claim 4 billion members in a tiny frame
  const bad = Buffer.from(frame)
  bad.writeUInt32BE(0xffffffff, 5)
  const r = decodePushPull(bad)
  t.equal(r.ok, false)
  t.match(r.ok ? '' : r.detail, /member count/)
  const tooManyServices = encodeMessage({ type: 'alive', name: 'x', incarnation: 1, host: 'h', port: 1, zone: '', adminAddress: '', meta: { services: [] } })
  const buf = Buffer.from(tooManyServices)
  buf[buf.length - 1] = LIMITS.servicesPerNode + 1
  t.equal(decodePacket(encodePacket([buf])).ok, false, 'service count over the cap')
  t.throws(() => encodeMessage({ type: 'left', name: 'x'.repeat(300), incarnation: 1 }), RangeError, 'names over 255 bytes are refused at encoding')
})

t.test('fuzz: random, truncated and bit-flipped input never throws past the decoder', async (t) => {
  const random = seededRandom(42)
  const valid = [encodePacket(samples.map(encodeMessage)), encodePushPull({ join: true, from: 'a', members: [], health: [] })]
  let rejected = 0
  let accepted = 0
  for (let i = 0; i < 20_000; i++) {
    let buf: Buffer
    const base = valid[i % 2]!
    switch (i % 4) {
      case 0: // random bytes, sometimes with a valid version byte
        buf = Buffer.from(Array.from({ length: Math.floor(random() * 200) }, () => Math.floor(random() * 256)))
        if (buf.length > 0 && random() < 0.5) buf[0] = 1
        break
      case 1: // truncated
        buf = base.subarray(0, Math.floor(random() * base.length))
        break
      case 2: {
        // bit flips
        buf = Buffer.from(base)
        for (let k = 0; k < 3; k++) {
          const at = Math.floor(random() * buf.length)
          buf[at] = buf[at]! ^ (1 << Math.floor(random() * 8))
        }
        break
      }
      default: // valid prefix + garbage
        buf = Buffer.concat([base, Buffer.from([Math.floor(random() * 256), 255, 255])])
    }
    for (const decode of [decodePacket, decodePushPull]) {
      let r: { ok: boolean }
      try {
        r = decode(buf)
      } catch (err) {
        t.fail(`decoder threw on ${buf.toString('hex')}: ${String(err)}`)
        return
      }
      if (r.ok) accepted++
      else rejected++
    }
  }
  t.ok(rejected > 30_000, `${rejected} rejected, ${accepted} accepted, none thrown`)
})

t.test('a node fed random and truncated packets counts them and keeps working', async (t) => {
  const c = new TestCluster({ seed: 7 })
  for (const n of ['a', 'b', 'c']) c.add(n)
  await c.startAll()
  await c.runUntil(() => c.allSee(['a', 'b', 'c'], 'alive'), 4000)
  const random = seededRandom(9)
  const a = c.node('a')
  const env = new Envelope({ keys: [], cluster: 'test', wallNow: () => c.clock.wallNow() })
  const good = encodePacket([enc({ type: 'alive', name: 'ghost', incarnation: 1, host: 'mem', port: 999, zone: '', adminAddress: '', meta: { services: [] } })])
  for (let i = 0; i < 2000; i++) {
    let payload: Buffer
    if (i % 2 === 0) payload = Buffer.from(Array.from({ length: 1 + Math.floor(random() * 100) }, () => Math.floor(random() * 256)))
    else payload = good.subarray(0, 1 + Math.floor(random() * (good.length - 2)))
    // half arrive inside a valid plaintext envelope, half as raw garbage
    c.network.inject({ host: 'mem', port: 4242 }, a.net.address, i % 4 < 2 ? env.seal(payload, 'packet') : payload)
  }
  await c.run(500)
  const drops = a.membership.counters.drops
  t.ok(drops.malformed + drops.version + drops.cluster > 1500, `dropped: ${JSON.stringify(drops)}`)
  t.equal(a.membership.counters.handlerErrors, 0)
  t.equal(a.membership.stateOf('ghost'), undefined, 'nothing learned from truncated packets')
  const b = c.node('b')
  b.net.crash()
  const ms = await c.runUntil(() => a.membership.stateOf('b') === 'dead', 10_000)
  t.ok(ms >= 0, 'still detects failures afterwards')
  await c.stopAll()
})

t.test('mtls announcements: round trip, and frames of the previous format still decode', async (t) => {
  const secured = {
    services: [
      { name: 'users', host: '10.0.0.2', port: 15006, weight: 1, tags: [], health: 'healthy' as const, mtls: true },
      { name: 'plain', host: '10.0.0.2', port: 8080, weight: 1, tags: ['x'], health: 'unhealthy' as const },
    ],
  }
  const alive: Message = { type: 'alive', name: 'n', incarnation: 2, host: '10.0.0.2', port: 7946, zone: '', adminAddress: '', meta: secured }
  const r = decodePacket(encodePacket([encodeMessage(alive)]))
  t.ok(r.ok)
  if (r.ok) t.same(r.messages, [alive], 'mtls survives the round trip; a service without it has none')
  const pp: PushPull = { join: false, from: 'n', members: [{ name: 'n', incarnation: 2, host: '10.0.0.2', port: 7946, zone: '', adminAddress: '', meta: secured, state: 'alive' }], health: [] }
  const rp = decodePushPull(encodePushPull(pp))
  t.ok(rp.ok && rp.value.members[0]!.meta.services[0]!.mtls === true, 'push-pull carries mtls')

  // an alive message laid out by hand in the format before the flag existed (health byte 0..2)
  const str = (s: string) => [Buffer.byteLength(s), ...Buffer.from(s)]
  const body = [
    ...[0, 0, 0, 3], // incarnation
    ...str('old'),
    ...str('10.0.0.9'),
    0x1e, 0xd2, // port 7890
    ...str('z1'),
    ...str(''),
    1, // one service
    ...str('web'),
    ...str('10.0.0.9'),
    0x1f, 0x90, // 8080
    0, 2, // weight
    1, // healthy
    1,
    ...str('v1'),
  ]
  const old = Buffer.from([1, 5, body.length >> 8, body.length & 0xff, ...body])
  const d = decodePacket(old)
  t.ok(d.ok, 'an old-format frame decodes')
  if (d.ok) {
    t.same(d.messages[0], {
      type: 'alive',
      name: 'old',
      incarnation: 3,
      host: '10.0.0.9',
      port: 7890,
      zone: 'z1',
      adminAddress: '',
      meta: { services: [{ name: 'web', host: '10.0.0.9', port: 8080, weight: 2, health: 'healthy', tags: ['v1'] }] },
    })
    t.notOk((d.messages[0] as Extract<Message, { type: 'alive' }>).meta.services[0]!.mtls, 'no mtls in an old frame')
    t.same(encodeMessage(d.messages[0]!), old.subarray(1), 'a service without mtls encodes exactly as before (old nodes read it)')
  }
  const bad = Buffer.from(old)
  bad[old.length - 5] = 0x83 // mtls flag on an invalid health value
  t.notOk(decodePacket(bad).ok, 'an invalid health value under the flag is refused')
})
