/** The dgram + net transport on 127.0.0.1 (port 0), and Membership over it in real time. */
import { randomBytes } from 'node:crypto'
import net from 'node:net'
import t from 'tap'
import { seededRandom, systemClock } from '../../src/clock.js'
import { Membership } from '../../src/membership/swim.js'
import type { TransportHandlers } from '../../src/membership/transport.js'
import { UdpTransport } from '../../src/membership/udp-transport.js'
import { localGossipConfig, silentLogger } from '../helpers/gossip-cluster.js'

const LOCAL = { host: '127.0.0.1', port: 0 }

function handlers(over: Partial<TransportHandlers> = {}): TransportHandlers {
  return { packet: () => {}, exchange: async (req) => Buffer.concat([Buffer.from('re:'), req]), ...over }
}

t.test('datagrams and exchanges between two transports', async (t) => {
  const got: string[] = []
  let arrived: () => void = () => {}
  const arrivedP = new Promise<void>((r) => (arrived = r))
  const a = new UdpTransport({ listen: LOCAL })
  const b = new UdpTransport({ listen: LOCAL })
  const addrA = await a.listen(handlers())
  const addrB = await b.listen(
    handlers({
      packet: (d, from) => {
        got.push(`${d.toString()} from ${from.port}`)
        arrived()
      },
    }),
  )
  t.not(addrA.port, 0)
  t.not(addrA.port, addrB.port)
  a.send(addrB, Buffer.from('ping'))
  await arrivedP
  t.same(got, [`ping from ${addrA.port}`], 'UDP from the bound port')
  const answer = await a.exchange(addrB, Buffer.from('state'), 2000)
  t.equal(answer.toString(), 're:state', 'TCP request/answer on the same port number')
  const big = randomBytes(300_000)
  t.equal((await a.exchange(addrB, big, 2000)).length, big.length + 3, 'large frames arrive whole')
  await a.close()
  await a.close()
  await b.close()
})

t.test('exchange failures: refused, silent peer (timeout), answer dropped, oversized frame', async (t) => {
  const a = new UdpTransport({ listen: LOCAL })
  await a.listen(handlers())
  // a port with nothing listening
  const free = net.createServer()
  await new Promise<void>((r) => free.listen(0, '127.0.0.1', () => r()))
  const freePort = (free.address() as net.AddressInfo).port
  await new Promise<void>((r) => free.close(() => r()))
  await t.rejects(a.exchange({ host: '127.0.0.1', port: freePort }, Buffer.from('x'), 1000), { code: 'COMMY_ERR_GOSSIP_EXCHANGE' })

  const silent = new UdpTransport({ listen: LOCAL })
  const addrS = await silent.listen(handlers({ exchange: () => new Promise(() => {}) }))
  const started = Date.now()
  await t.rejects(a.exchange(addrS, Buffer.from('x'), 300), /no answer within 300ms/)
  t.ok(Date.now() - started < 2000)

  const refuser = new UdpTransport({ listen: LOCAL })
  const addrR = await refuser.listen(handlers({ exchange: async () => undefined }))
  await t.rejects(a.exchange(addrR, Buffer.from('x'), 1000), /closed without an answer/)

  const small = new UdpTransport({ listen: LOCAL, maxFrameBytes: 1000 })
  const addrSmall = await small.listen(handlers())
  await t.rejects(a.exchange(addrSmall, randomBytes(5000), 1000), { code: 'COMMY_ERR_GOSSIP_EXCHANGE' })
  // a raw client announcing a 4 GB frame is cut at once
  const sock = net.connect(addrSmall.port, '127.0.0.1')
  await new Promise<void>((r) => sock.once('connect', () => r()))
  sock.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3]))
  await new Promise<void>((r) => sock.once('close', () => r()))
  t.pass('oversized frame announcement: connection closed')
  await Promise.all([a.close(), silent.close(), refuser.close(), small.close()])
})

t.test('three members over real UDP/TCP with encryption converge and detect a leave', async (t) => {
  const key = randomBytes(32)
  const nodes: Membership[] = []
  const cfg = localGossipConfig({ keys: [key], cluster: 'udp-test' })
  for (const name of ['a', 'b', 'c']) {
    const transport = new UdpTransport({ listen: LOCAL })
    const seeds = nodes.length > 0 ? [`127.0.0.1:${nodes[0]!.address!.port}`] : []
    const m = new Membership({ config: { ...cfg, seeds }, node: { name }, transport, clock: systemClock, random: seededRandom(nodes.length + 1), logger: silentLogger })
    await m.start()
    nodes.push(m)
  }
  const deadline = Date.now() + 5000
  while (!nodes.every((n) => ['a', 'b', 'c'].every((x) => n.stateOf(x) === 'alive')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
  t.ok(nodes.every((n) => ['a', 'b', 'c'].every((x) => n.stateOf(x) === 'alive')), 'converged')
  const leftAt = Date.now()
  await nodes[2]!.stop()
  while (!(nodes[0]!.stateOf('c') === 'left' && nodes[1]!.stateOf('c') === 'left') && Date.now() < leftAt + 3000) await new Promise((r) => setTimeout(r, 10))
  t.ok(nodes[0]!.stateOf('c') === 'left' && nodes[1]!.stateOf('c') === 'left', `left everywhere after ${Date.now() - leftAt} ms`)
  t.equal(nodes[0]!.counters.drops.auth, 0)
  await Promise.all(nodes.map((n) => n.stop()))
})
