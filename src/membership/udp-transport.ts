/**
 * The production GossipTransport: a UDP socket for probes and gossip, and a TCP server on the same
 * port number for push-pull exchanges (one length-prefixed request frame, one answer frame, then
 * the connection closes). Inbound streams are hostile until their frame is authenticated, so
 * (`stream-limits.ts`): a frame is refused on its announced length before any body byte is kept,
 * all streams together buffer at most `maxBufferedBytes`, the header and the whole frame have
 * deadlines, and slots (all, and per source address) are admitted by `StreamSlots`, which evicts
 * the longest-idle unauthenticated stream when they are full. Every stream dropped here is
 * reported to `handlers.dropped` with its reason.
 */
import dgram from 'node:dgram'
import net from 'node:net'
import type { StreamDropReason } from './counters.js'
import { GossipBindError, GossipExchangeError } from './errors.js'
import { frame, FrameReader } from './frame-reader.js'
import { DEFAULT_STREAM_LIMITS, type StreamLimits } from './stream-limits.js'
import { StreamSlots } from './stream-slots.js'
import type { GossipTransport, HostPort, TransportHandlers } from './transport.js'
import { formatAddress } from './transport.js'

export interface UdpTransportOptions extends Partial<StreamLimits> {
  readonly listen: HostPort
}

export class UdpTransport implements GossipTransport {
  private udp: dgram.Socket | undefined
  private tcp: net.Server | undefined
  private readonly sockets = new Set<net.Socket>()
  private readonly limits: StreamLimits
  private readonly slots: StreamSlots
  private closed = false

  constructor(private readonly options: UdpTransportOptions) {
    const { listen: _listen, ...given } = options
    this.limits = { ...DEFAULT_STREAM_LIMITS, ...stripUndefined(given) }
    this.slots = new StreamSlots(this.limits)
  }

  /** Bytes held for inbound streams' frames now (at most `maxBufferedBytes`). */
  get bufferedBytes(): number {
    return this.slots.buffered
  }

  /** Inbound streams admitted now. */
  get inboundStreams(): number {
    return this.slots.size
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
      const reader = new FrameReader(this.limits.maxFrameBytes)
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
        const read = reader.push(chunk)
        if (read.state === 'oversize') done(new GossipExchangeError(peer, `answer of ${read.announced} bytes is over the ${this.limits.maxFrameBytes}-byte frame limit`))
        else if (read.state === 'frame') done(undefined, read.frame)
      })
      sock.on('error', (err) => done(new GossipExchangeError(peer, err.message, { cause: err })))
      sock.on('close', () => done(new GossipExchangeError(peer, 'closed without an answer')))
    })
  }

  private accept(sock: net.Socket, handlers: TransportHandlers): void {
    sock.on('error', () => {})
    if (this.closed) {
      sock.destroy()
      return
    }
    const limits = this.limits
    const acceptedAt = Date.now()
    let phase: 'reading' | 'answering' | 'closed' = 'reading'
    let timer: NodeJS.Timeout | undefined
    const close = (reason: StreamDropReason | undefined): void => {
      if (phase === 'closed') return
      phase = 'closed'
      clearTimeout(timer)
      this.slots.release(slot)
      this.sockets.delete(sock)
      sock.destroy()
      if (reason !== undefined) handlers.dropped?.(reason)
    }
    const deadline = (ms: number): void => {
      clearTimeout(timer)
      timer = setTimeout(() => close(phase === 'reading' ? 'timeout' : undefined), Math.max(0, ms))
      timer.unref()
    }
    const admitted = this.slots.admit(sock.remoteAddress ?? '', () => close('limit'))
    if (admitted === undefined) {
      sock.destroy()
      handlers.dropped?.('limit')
      return
    }
    const slot = admitted
    this.sockets.add(sock)
    deadline(limits.headerTimeoutMs)
    const reader = new FrameReader(limits.maxFrameBytes, (bytes) => this.slots.reserve(slot, bytes))
    const from = { host: sock.remoteAddress ?? '', port: sock.remotePort ?? 0 }
    sock.once('close', () => close(undefined))
    // the peer half-closes after its request: only an end before the whole frame is a drop
    sock.on('end', () => {
      if (phase === 'reading') close('malformed')
    })
    sock.on('data', (chunk: Buffer) => {
      if (phase !== 'reading') return
      const started = reader.started
      const read = reader.push(chunk)
      this.slots.touch(slot)
      switch (read.state) {
        case 'header':
          return
        case 'body':
          if (!started) deadline(limits.frameTimeoutMs - (Date.now() - acceptedAt))
          return
        case 'oversize':
          return close('oversize')
        case 'over-budget':
          return close('limit')
        case 'frame':
          break
      }
      phase = 'answering'
      slot.phase = 'answering'
      deadline(limits.frameTimeoutMs)
      handlers.exchange(read.frame, from).then(
        (answer) => {
          // the request frame is no longer held: its bytes go back to the budget
          this.slots.discharge(slot)
          if (answer === undefined || phase === 'closed') close(undefined)
          else sock.end(frame(answer))
        },
        () => close(undefined),
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

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>
}
