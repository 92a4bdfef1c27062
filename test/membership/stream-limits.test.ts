/**
 * The gossip TCP port under attack, at test size (bench/gossip-attack.ts runs the full-size
 * attacks): frames refused on their announced length, one budget for the bytes all streams
 * buffer, deadlines for the header and the whole frame, slots per source, and the longest-idle
 * unauthenticated stream evicted so a real peer always gets in. Real sockets on 127.0.0.0/8.
 */
import net from 'node:net'
import t, { type Test } from 'tap'
import type { StreamDropReason } from '../../src/membership/counters.js'
import { DEFAULT_STREAM_LIMITS, pushPullFrameLimit, streamLimits } from '../../src/membership/stream-limits.js'
import type { TransportHandlers } from '../../src/membership/transport.js'
import { UdpTransport, type UdpTransportOptions } from '../../src/membership/udp-transport.js'
import { announceFrame, IdleConnections } from '../helpers/gossip-attacker.js'
import { localGossipConfig } from '../helpers/gossip-cluster.js'
import { until } from '../helpers/runtime.js'

const LOCAL = { host: '127.0.0.1', port: 0 }
const MiB = 1024 * 1024

async function node(t: Test, options: Partial<UdpTransportOptions> = {}, over: Partial<TransportHandlers> = {}) {
  const drops: StreamDropReason[] = []
  const transport = new UdpTransport({ listen: LOCAL, ...options })
  const address = await transport.listen({
    packet: () => {},
    exchange: async (req) => Buffer.from(`got ${req.length}`),
    dropped: (reason) => drops.push(reason),
    ...over,
  })
  t.teardown(() => transport.close())
  const count = (reason: StreamDropReason) => drops.filter((d) => d === reason).length
  return { transport, address, drops, count }
}

/** The highest value `read()` had until `done` settles (sampled every event-loop turn). */
async function peakWhile<T>(read: () => number, done: Promise<T>): Promise<{ peak: number; value: T }> {
  let peak = read()
  let running = true
  const sample = (): void => {
    peak = Math.max(peak, read())
    if (running) setImmediate(sample)
  }
  setImmediate(sample)
  const value = await done
  running = false
  return { peak: Math.max(peak, read()), value }
}

t.test('the frame limit follows the cluster size, not 16 MiB', async (t) => {
  t.equal(pushPullFrameLimit(1400, 1024), 1024 * 2 * 1400, 'maxMembers × 2 × MTU')
  t.equal(pushPullFrameLimit(1400, 10), MiB, 'never under 1 MiB')
  t.equal(pushPullFrameLimit(65000, 100_000), 16 * MiB, 'never over the codec limit')
  t.ok(DEFAULT_STREAM_LIMITS.maxFrameBytes < 3 * MiB, `default ${DEFAULT_STREAM_LIMITS.maxFrameBytes} bytes`)
  const l = streamLimits(localGossipConfig({ maxMembers: 2000, mtu: 1000 }))
  t.equal(l.maxFrameBytes, 4_000_000)
  t.equal(l.maxBufferedBytes, 16_000_000, 'the budget holds four largest frames')
})

t.test('8 streams announcing 16 MiB frames are refused on their header: nothing is buffered', async (t) => {
  const n = await node(t)
  const streams = Array.from({ length: 8 }, () => announceFrame(n.address, 16 * MiB, 2 * MiB))
  const { peak } = await peakWhile(() => n.transport.bufferedBytes, Promise.all(streams))
  t.equal(peak, 0, 'no byte of an over-limit frame is kept')
  t.equal(n.count('oversize'), 8, 'each counted as oversize')
  t.equal(n.transport.inboundStreams, 0)
})

t.test('bytes buffered across all streams are capped: a stream that would pass the budget is cut', async (t) => {
  const n = await node(t, { maxFrameBytes: 512 * 1024, maxBufferedBytes: MiB, maxStreamsPerSource: 64 })
  const socks: net.Socket[] = []
  // 8 streams each announce 500 KiB, send 400 KiB and wait: 3.2 MB if nothing capped them
  const streams = Array.from({ length: 8 }, () => announceFrame(n.address, 500 * 1024, 400 * 1024, { hold: true, onSocket: (s) => socks.push(s) }))
  const all = Promise.all(streams)
  const { peak, value: cut } = await peakWhile(() => n.transport.bufferedBytes, until(() => n.count('limit') >= 6, 5000))
  t.ok(cut, `streams over the budget cut (${n.count('limit')})`)
  t.ok(peak <= MiB, `peak buffered ${peak} bytes (budget ${MiB})`)
  t.ok(n.transport.bufferedBytes > 0, 'the streams within the budget are still reading')
  for (const s of socks) s.destroy()
  await all
  t.ok(await until(() => n.transport.bufferedBytes === 0 && n.transport.inboundStreams === 0, 2000), 'budget back to 0 after they close')
  // a real exchange still works afterwards
  const a = new UdpTransport({ listen: LOCAL })
  await a.listen({ packet: () => {}, exchange: async () => undefined })
  t.teardown(() => a.close())
  t.equal((await a.exchange(n.address, Buffer.alloc(300 * 1024), 2000)).toString(), `got ${300 * 1024}`)
})

t.test('a stream must send its header and its whole frame in time', async (t) => {
  const n = await node(t, { headerTimeoutMs: 300, frameTimeoutMs: 900 })
  const closedAfter = (sock: net.Socket) => {
    const at = Date.now()
    return new Promise<number>((r) => sock.once('close', () => r(Date.now() - at)))
  }
  const idle = net.connect(n.address.port, '127.0.0.1').on('error', () => {})
  const idleMs = await closedAfter(idle)
  t.ok(idleMs >= 250 && idleMs < 2000, `silent stream closed after ${idleMs} ms (header deadline 300)`)
  const slow = net.connect(n.address.port, '127.0.0.1').on('error', () => {})
  slow.once('connect', () => slow.write(Buffer.from([0, 0, 1, 0, 1, 2, 3])))
  const timer = setInterval(() => slow.write(Buffer.from([9])), 100) // trickles: never idle, never done
  const slowMs = await closedAfter(slow)
  clearInterval(timer)
  t.ok(slowMs >= 800 && slowMs < 2500, `trickling stream closed after ${slowMs} ms (frame deadline 900)`)
  t.equal(n.count('timeout'), 2)
  const early = net.connect(n.address.port, '127.0.0.1').on('error', () => {})
  early.once('connect', () => early.end(Buffer.from([0, 0, 0, 9, 1])))
  t.ok(await until(() => n.count('malformed') === 1, 2000), 'a stream ended before its frame is counted malformed')
})

t.test('slots: per source, and the longest-idle unauthenticated stream makes room for a real peer', async (t) => {
  const n = await node(t, { maxStreams: 8, maxStreamsPerSource: 4, headerTimeoutMs: 10_000 })
  const one = new IdleConnections(n.address, 6, { sources: ['127.0.0.2'], reopenMs: 60_000 })
  await one.start()
  t.teardown(() => one.stop())
  t.ok(await until(() => n.count('limit') === 2, 2000), 'two over the per-source share evicted')
  t.equal(n.transport.inboundStreams, 4, 'one source holds at most its share')
  const many = new IdleConnections(n.address, 8, { sources: ['127.0.0.3', '127.0.0.4'], reopenMs: 60_000 })
  await many.start()
  t.teardown(() => many.stop())
  // 4 + 8 streams for 8 slots: the 4 of the first source (idle longest) make room
  t.ok(await until(() => n.transport.inboundStreams === 8 && n.count('limit') === 6, 2000), `all slots held, the longest idle evicted (${n.count('limit')})`)
  const peer = new UdpTransport({ listen: LOCAL })
  await peer.listen({ packet: () => {}, exchange: async () => undefined })
  t.teardown(() => peer.close())
  const started = Date.now()
  t.equal((await peer.exchange(n.address, Buffer.from('state'), 2000)).toString(), 'got 5', 'the real exchange got a slot')
  t.ok(Date.now() - started < 1000, `answered in ${Date.now() - started} ms`)
  t.equal(n.count('limit'), 7, 'by evicting one idle stream')
})
