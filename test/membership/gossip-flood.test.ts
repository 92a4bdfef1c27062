/**
 * Real nodes (UdpTransport on 127.0.0.1, encrypted) under a non-member's attack: connections held
 * on the seed's push-pull port cannot keep a new node from joining, and a flood of garbage,
 * forged and replayed datagrams and unauthenticated streams cannot make any node suspect, drop
 * or lose a real member. Every dropped packet and stream is counted by reason.
 */
import { randomBytes } from 'node:crypto'
import dgram from 'node:dgram'
import t, { type Test } from 'tap'
import { seededRandom, systemClock } from '../../src/clock.js'
import type { GossipConfig } from '../../src/config/types.js'
import { encodeMessage, encodePacket } from '../../src/membership/codec.js'
import { Envelope } from '../../src/membership/envelope.js'
import { Membership } from '../../src/membership/swim.js'
import { UdpTransport } from '../../src/membership/udp-transport.js'
import { announceFrame, IdleConnections } from '../helpers/gossip-attacker.js'
import { localGossipConfig, silentLogger } from '../helpers/gossip-cluster.js'
import { until } from '../helpers/runtime.js'

const KEY = randomBytes(32)
const ATTACKERS = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5']

async function start(t: Test, name: string, cfg: GossipConfig, seed?: Membership): Promise<Membership> {
  const seeds = seed ? [`127.0.0.1:${seed.address!.port}`] : []
  const m = new Membership({
    config: { ...cfg, seeds },
    node: { name },
    transport: new UdpTransport({ listen: { host: '127.0.0.1', port: 0 } }),
    clock: systemClock,
    random: seededRandom(name.charCodeAt(0)),
    logger: silentLogger,
  })
  t.teardown(() => m.stop())
  await m.start()
  return m
}


t.test('64 idle connections held on the seed (reopened as they close): a new node still joins through it', async (t) => {
  const cfg = localGossipConfig({ keys: [KEY], cluster: 'attack' })
  const a = await start(t, 'a', cfg)
  const idle = new IdleConnections(a.address!, 64, { sources: ATTACKERS, reopenMs: 50 })
  await idle.start()
  t.teardown(() => idle.stop())
  const started = Date.now()
  const b = await start(t, 'b', cfg, a)
  const joined = await until(() => b.joined && a.stateOf('b') === 'alive' && b.stateOf('a') === 'alive', 5000)
  t.ok(joined, `joined in ${Date.now() - started} ms while ${idle.held} idle connections were held (${idle.opened} opened)`)
  t.ok(idle.held >= 48, `the attacker still holds its connections (${idle.held})`)
  t.ok(a.counters.dropped.stream.limit > 0, `idle streams evicted: ${a.counters.dropped.stream.limit}`)
})

t.test('a flood from a non-member cannot make a node suspect or drop a real member', async (t) => {
  // lan-like probe timing: a shared 2-core test machine stalls for tens of ms at times
  const cfg = localGossipConfig({ keys: [KEY], cluster: 'flood', probeIntervalMs: 500, probeTimeoutMs: 400 })
  const a = await start(t, 'a', cfg)
  const b = await start(t, 'b', cfg, a)
  const c = await start(t, 'c', cfg, a)
  const nodes = [a, b, c]
  const names = ['a', 'b', 'c']
  t.ok(await until(() => nodes.every((n) => names.every((x) => n.stateOf(x) === 'alive')), 5000), 'converged')
  const bad: string[] = []
  for (const n of nodes) n.on('change', (m) => void (m.state !== 'alive' && bad.push(`${m.name} ${m.state}`)))

  // datagrams: garbage, sealed with another key, and one real packet (as if captured) replayed
  const udp = dgram.createSocket('udp4')
  await new Promise<void>((r) => udp.bind(0, '127.0.0.2', () => r()))
  t.teardown(() => udp.close())
  const captured = new Envelope({ keys: [KEY], cluster: 'flood', wallNow: () => Date.now() }).seal(encodePacket([encodeMessage({ type: 'ack', seq: 7 })]), 'packet')
  const forged = new Envelope({ keys: [randomBytes(32)], cluster: 'flood', wallNow: () => Date.now() }).seal(
    encodePacket([encodeMessage({ type: 'dead', name: 'b', incarnation: 99, from: 'mallory' })]),
    'packet',
  )
  const junk = Array.from({ length: 64 }, (_, i) => randomBytes(1 + ((i * 37) % 1200)))
  let sent = 0
  const flood = setInterval(() => {
    for (const n of nodes) {
      for (let i = 0; i < 10; i++) {
        udp.send(junk[(sent + i) % junk.length]!, n.address!.port, '127.0.0.1')
        udp.send(forged, n.address!.port, '127.0.0.1')
        udp.send(captured, n.address!.port, '127.0.0.1')
        sent += 3
      }
    }
  }, 10)
  // streams: idle connections on every node, and garbage frames
  const idle = nodes.map((n) => new IdleConnections(n.address!, 64, { sources: ATTACKERS, reopenMs: 50 }))
  await Promise.all(idle.map((i) => i.start()))
  let frames = 0
  let framing = true
  const garbage = async (port: number): Promise<void> => {
    while (framing) {
      await announceFrame({ host: '127.0.0.1', port }, 2000, 2000, { localAddress: '127.0.0.6' })
      frames++
    }
  }
  const framers = nodes.map((n) => garbage(n.address!.port))
  await new Promise((r) => setTimeout(r, 3000)) // the attack runs for a fixed time: its absence of effect is the point
  clearInterval(flood)
  framing = false
  for (const i of idle) i.stop()
  await Promise.all(framers)

  t.same(bad, [], `no real member suspected, dead or left (${sent} datagrams, ${frames} garbage frames)`)
  t.ok(nodes.every((n) => names.every((x) => n.stateOf(x) === 'alive')), 'every node still sees every member alive')
  for (const [i, n] of nodes.entries()) {
    const d = n.counters.dropped
    t.ok(d.packet.auth > 0 && d.packet.replay > 0 && d.packet.version + d.packet.malformed > 0, `${names[i]} counted packet drops: ${JSON.stringify(d.packet)}`)
    t.ok(d.stream.version > 0 && d.stream.limit + d.stream.timeout > 0, `${names[i]} counted garbage frames and idle streams: ${JSON.stringify(d.stream)}`)
    t.equal(n.counters.suspicions, 0, `${names[i]} suspected no one`)
  }
})
