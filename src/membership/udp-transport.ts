/**
 * The production GossipTransport: a UDP socket for probes and gossip, and a TCP server on the same
 * port number for push-pull exchanges (one length-prefixed request frame, one answer frame, then
 * the connection closes). Hostile-input limits: a frame larger than `maxFrameBytes` or a stream
 * idle longer than `streamTimeoutMs` is cut, and at most `maxInboundStreams` run at once.
 */
import dgram from 'node:dgram'
import net from 'node:net'
import type { GossipTransport, HostPort, TransportHandlers } from './transport.js'
import { formatAddress } from './transport.js'
import { GossipBindError, GossipExchangeError } from './errors.js'

export interface UdpTransportOptions {
  readonly listen: HostPort
  /** Largest stream frame accepted (default 16 MiB). */
  readonly maxFrameBytes?: number
  readonly maxInboundStreams?: number
  /** An inbound stream that sends nothing for this long is closed (default 10 s). */
  readonly streamTimeoutMs?: number
}

/** Collects one `[length u32][bytes]` frame. */
class FrameReader {
  private chunks: Buffer[] = []
  private have = 0
  private want = -1
  constructor(private readonly max: number) {}
  /** The frame once complete; 'too-large' when its announced length is over the limit. */
  push(chunk: Buffer): Buffer | 'too-large' | undefined {
    this.chunks.push(chunk)
    this.have += chunk.length
    if (this.want < 0 && this.have >= 4) {
      const head = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks)
      this.chunks = [head]
      this.want = head.readUInt32BE(0)
      if (this.want > this.max) return 'too-large'
    }
    if (this.want >= 0 && this.have >= 4 + this.want) {
      const all = Buffer.concat(this.chunks)
      return all.subarray(4, 4 + this.want)
    }
    return undefined
  }
}

function frame(data: Buffer): Buffer {
  const head = Buffer.allocUnsafe(4)
  head.writeUInt32BE(data.length, 0)
  return Buffer.concat([head, data])
}

export class UdpTransport implements GossipTransport {
  private udp: dgram.Socket | undefined
  private tcp: net.Server | undefined
  private readonly sockets = new Set<net.Socket>()
  private readonly maxFrame: number
  private readonly maxInbound: number
  private readonly streamTimeoutMs: number
  private inbound = 0
  private closed = false

  constructor(private readonly options: UdpTransportOptions) {
    this.maxFrame = options.maxFrameBytes ?? 16 * 1024 * 1024
    this.maxInbound = options.maxInboundStreams ?? 64
    this.streamTimeoutMs = options.streamTimeoutMs ?? 10_000
  }

  async listen(handlers: TransportHandlers): Promise<HostPort> {
    const { host, port } = this.options.listen
    let lastErr: unknown
    // port 0: let TCP pick a port, then take the same number for UDP (retry if UDP has it taken)
    for (let attempt = 0; attempt < (port === 0 ? 10 : 1); attempt++) {
      const tcp = net.createServer({ allowHalfOpen: true }, (s) => this.accept(s, handlers))
      try {
        await new Promise<void>((resolve, reject) => {
          tcp.once('error', reject)
          tcp.listen({ host, port, exclusive: true }, () => {
            tcp.off('error', reject)
            resolve()
          })
        })
      } catch (err) {
        lastErr = err
        continue
      }
      const bound = (tcp.address() as net.AddressInfo).port
      const udp = dgram.createSocket({ type: net.isIPv6(host) ? 'udp6' : 'udp4' })
      try {
        await new Promise<void>((resolve, reject) => {
          udp.once('error', reject)
          udp.bind({ address: host, port: bound, exclusive: true }, () => {
            udp.off('error', reject)
            resolve()
          })
        })
      } catch (err) {
        lastErr = err
        udp.close()
        await new Promise<void>((r) => tcp.close(() => r()))
        continue
      }
      udp.on('message', (msg, rinfo) => handlers.packet(msg, { host: rinfo.address, port: rinfo.port }))
      udp.on('error', () => {}) // ICMP unreachable and the like: a lost packet
      try {
        udp.setRecvBufferSize(4 * 1024 * 1024)
      } catch {
        // the OS limit wins
      }
      tcp.on('error', () => {})
      this.udp = udp
      this.tcp = tcp
      return { host, port: bound }
    }
    throw new GossipBindError(formatAddress(this.options.listen), { cause: lastErr })
  }

  send(to: HostPort, data: Buffer): void {
    if (this.closed || this.udp === undefined) return
    this.udp.send(data, to.port, to.host, () => {})
  }

  exchange(to: HostPort, request: Buffer, timeoutMs: number): Promise<Buffer> {
    const peer = formatAddress(to)
    if (this.closed) return Promise.reject(new GossipExchangeError(peer, 'transport closed'))
    return new Promise<Buffer>((resolve, reject) => {
      const sock = net.connect({ host: to.host, port: to.port })
      this.sockets.add(sock)
      const reader = new FrameReader(this.maxFrame)
      let settled = false
      const done = (err: Error | undefined, value?: Buffer) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        sock.destroy()
        this.sockets.delete(sock)
        if (err) reject(err)
        else resolve(value!)
      }
      const timer = setTimeout(() => done(new GossipExchangeError(peer, `no answer within ${timeoutMs}ms`)), timeoutMs)
      timer.unref()
      sock.on('connect', () => sock.end(frame(request)))
      sock.on('data', (chunk: Buffer) => {
        const f = reader.push(chunk)
        if (f === 'too-large') done(new GossipExchangeError(peer, 'answer too large'))
        else if (f !== undefined) done(undefined, f)
      })
      sock.on('error', (err) => done(new GossipExchangeError(peer, err.message, { cause: err })))
      sock.on('close', () => done(new GossipExchangeError(peer, 'closed without an answer')))
    })
  }

  private accept(sock: net.Socket, handlers: TransportHandlers): void {
    if (this.closed || this.inbound >= this.maxInbound) {
      sock.destroy()
      return
    }
    this.inbound++
    this.sockets.add(sock)
    sock.once('close', () => {
      this.inbound--
      this.sockets.delete(sock)
    })
    sock.on('error', () => {})
    sock.setTimeout(this.streamTimeoutMs, () => sock.destroy())
    const reader = new FrameReader(this.maxFrame)
    const from = { host: sock.remoteAddress ?? '', port: sock.remotePort ?? 0 }
    let answered = false
    sock.on('end', () => {
      if (!answered) sock.destroy()
    })
    sock.on('data', (chunk: Buffer) => {
      if (answered) return
      const f = reader.push(chunk)
      if (f === undefined) return
      answered = true
      if (f === 'too-large') {
        sock.destroy()
        return
      }
      handlers.exchange(f, from).then(
        (answer) => {
          if (answer === undefined || sock.destroyed) sock.destroy()
          else sock.end(frame(answer))
        },
        () => sock.destroy(),
      )
    })
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    for (const s of this.sockets) s.destroy()
    this.sockets.clear()
    const udp = this.udp
    const tcp = this.tcp
    this.udp = undefined
    this.tcp = undefined
    await Promise.all([
      udp ? new Promise<void>((r) => udp.close(() => r())) : undefined,
      tcp ? new Promise<void>((r) => tcp.close(() => r())) : undefined,
    ])
  }
}
