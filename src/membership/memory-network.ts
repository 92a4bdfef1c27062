/**
 * An in-memory network for tests and the simulator: many nodes in one process on one virtual
 * clock, with seeded packet loss and delay, partitions, and per-node stalls (a stalled node runs
 * nothing until the stall ends: its timers and the packets sent to it wait, like a SIGSTOPped or
 * event-loop-blocked process) and crashes. Exchanges (push-pull) are reliable but still delayed
 * and cut by partitions; they need the caller to let promises settle between clock steps.
 */
import type { Clock, ManualClock, Random, Timer } from '../clock.js'
import type { GossipTransport, HostPort, TransportHandlers } from './transport.js'
import { formatAddress } from './transport.js'
import { GossipBindError, GossipExchangeError } from './errors.js'

export interface MemoryNetworkOptions {
  readonly clock: ManualClock
  readonly random: Random
  /** Probability a datagram is lost (0..1). */
  readonly loss?: number
  readonly minDelayMs?: number
  readonly maxDelayMs?: number
}

/**
 * A node's own view of the shared clock: while it is stalled, its due timers and the packets
 * delivered to it queue up; when the stall ends the timers run first, then the packets (the
 * order of Node's event loop: the timers phase comes before the poll phase), each in due order.
 * Once it has crashed nothing runs.
 */
export class NodeClock implements Clock {
  crashed = false
  private until = 0
  private wake: Timer | undefined
  private timers: (() => void)[] = []
  private io: (() => void)[] = []

  constructor(private readonly base: Clock) {}

  now(): number {
    return this.base.now()
  }
  wallNow(): number {
    return this.base.wallNow()
  }

  get stalledUntil(): number {
    return this.until
  }

  setTimer(fn: () => void, ms: number): Timer {
    return this.later(fn, ms, false)
  }

  /** Runs `fn` (a packet arriving) after `ms`, or after the stall like other input. */
  deliver(fn: () => void, ms: number): void {
    this.later(fn, ms, true)
  }

  /** Runs nothing until `until` (clock ms). */
  stall(until: number): void {
    if (until <= this.until) return
    this.until = until
    this.wake?.cancel()
    this.wake = this.base.setTimer(() => this.resume(), until - this.base.now())
  }

  /** Ends a stall now (SIGCONT): queued timers run, then queued packets. */
  resume(): void {
    this.until = 0
    this.wake?.cancel()
    this.wake = undefined
    const timers = this.timers
    const io = this.io
    this.timers = []
    this.io = []
    for (const fn of timers) if (!this.crashed) fn()
    for (const fn of io) if (!this.crashed) fn()
  }

  private later(fn: () => void, ms: number, io: boolean): Timer {
    let cancelled = false
    const run = (): void => {
      if (cancelled || this.crashed) return
      if (this.base.now() < this.until) (io ? this.io : this.timers).push(() => !cancelled && fn())
      else fn()
    }
    const inner = this.base.setTimer(run, ms)
    return {
      cancel: () => {
        cancelled = true
        inner.cancel()
      },
    }
  }
}

interface Port {
  readonly address: HostPort
  readonly clock: NodeClock
  handlers: TransportHandlers | undefined
  group: number
  /** Extra delay (ms) before this node processes a datagram: a starved receive path. */
  slow: (() => number) | undefined
}

export interface MemoryNode {
  readonly address: HostPort
  readonly clock: NodeClock
  readonly transport: GossipTransport
  /** SIGKILL: the node's timers never fire again, it sends nothing, its address is free. */
  crash(): void
}

export interface NetworkStats {
  sent: number
  delivered: number
  dropped: number
  bytes: number
}

export class MemoryNetwork {
  readonly clock: ManualClock
  loss: number
  minDelayMs: number
  maxDelayMs: number
  readonly stats: NetworkStats = { sent: 0, delivered: 0, dropped: 0, bytes: 0 }
  /** Sees every datagram that is delivered (tests capture packets to replay them). */
  onDeliver: ((from: HostPort, to: HostPort, data: Buffer) => void) | undefined
  private readonly random: Random
  private readonly ports = new Map<string, Port>()
  private nextPort = 1
  private partitioned = false

  constructor(options: MemoryNetworkOptions) {
    this.clock = options.clock
    this.random = options.random
    this.loss = options.loss ?? 0
    this.minDelayMs = options.minDelayMs ?? 1
    this.maxDelayMs = options.maxDelayMs ?? this.minDelayMs
  }

  /** A new node at `host:port` (port omitted or 0: the next free one). */
  node(address?: Partial<HostPort>): MemoryNode {
    const host = address?.host ?? 'mem'
    let port = address?.port ?? 0
    if (port === 0) {
      while (this.ports.has(`${host}:${this.nextPort}`)) this.nextPort++
      port = this.nextPort++
    }
    const addr = { host, port }
    const clock = new NodeClock(this.clock)
    const transport = new MemoryTransport(this, addr, clock)
    return {
      address: addr,
      clock,
      transport,
      crash: () => {
        clock.crashed = true
        void transport.close()
      },
    }
  }

  /** Nodes in different groups cannot reach each other; nodes in no group reach everyone. */
  partition(groups: readonly (readonly HostPort[])[]): void {
    for (const p of this.ports.values()) p.group = -1
    groups.forEach((g, i) => {
      for (const a of g) {
        const p = this.ports.get(formatAddress(a))
        if (p) p.group = i
      }
    })
    this.partitioned = true
  }

  heal(): void {
    for (const p of this.ports.values()) p.group = -1
    this.partitioned = false
  }

  /** The node runs nothing for `ms` (or until `resume`): its timers and incoming packets wait. */
  stall(address: HostPort, ms: number): void {
    this.ports.get(formatAddress(address))?.clock.stall(this.clock.now() + ms)
  }

  resume(address: HostPort): void {
    this.ports.get(formatAddress(address))?.clock.resume()
  }

  /** Every datagram to this node waits `extraMs()` more before it is processed (undefined: back to normal). */
  slowDown(address: HostPort, extraMs: (() => number) | undefined): void {
    const p = this.ports.get(formatAddress(address))
    if (p) p.slow = extraMs
  }

  /** Sends a raw datagram as if from `from` (fuzzing, replays, intruders). */
  inject(from: HostPort, to: HostPort, data: Buffer): void {
    this.deliver(from, to, data)
  }

  /** @internal */
  bind(address: HostPort, clock: NodeClock, handlers: TransportHandlers): void {
    const key = formatAddress(address)
    if (this.ports.has(key)) throw new GossipBindError(key, { cause: new Error('address in use') })
    this.ports.set(key, { address, clock, handlers, group: -1, slow: undefined })
  }

  /** @internal */
  unbind(address: HostPort, clock: NodeClock): void {
    const key = formatAddress(address)
    if (this.ports.get(key)?.clock === clock) this.ports.delete(key)
  }

  private reachable(a: Port | undefined, b: Port | undefined): boolean {
    if (a === undefined || b === undefined) return b !== undefined
    return !this.partitioned || a.group < 0 || b.group < 0 || a.group === b.group
  }

  private delay(): number {
    return this.minDelayMs + (this.maxDelayMs - this.minDelayMs) * this.random()
  }

  /** @internal */
  deliver(from: HostPort, to: HostPort, data: Buffer): void {
    this.stats.sent++
    this.stats.bytes += data.length
    const src = this.ports.get(formatAddress(from))
    const dst = this.ports.get(formatAddress(to))
    if (dst === undefined || dst.clock.crashed || !this.reachable(src, dst) || (this.loss > 0 && this.random() < this.loss)) {
      this.stats.dropped++
      return
    }
    dst.clock.deliver(() => {
      if (dst.handlers === undefined) return
      this.stats.delivered++
      this.onDeliver?.(from, to, data)
      dst.handlers.packet(data, from)
    }, this.delay() + (dst.slow?.() ?? 0))
  }

  /** @internal */
  exchange(from: HostPort, fromClock: NodeClock, to: HostPort, request: Buffer, timeoutMs: number): Promise<Buffer> {
    const peer = formatAddress(to)
    return new Promise<Buffer>((resolve, reject) => {
      let settled = false
      const settle = (err: Error | undefined, value?: Buffer): void => {
        if (settled) return
        settled = true
        timer.cancel()
        if (err) reject(err)
        else resolve(value!)
      }
      const timer = this.clock.setTimer(() => settle(new GossipExchangeError(peer, `no answer within ${timeoutMs}ms`)), timeoutMs)
      const src = this.ports.get(formatAddress(from))
      const dst = this.ports.get(peer)
      if (dst === undefined || dst.clock.crashed || !this.reachable(src, dst)) {
        this.clock.setTimer(() => settle(new GossipExchangeError(peer, 'connection refused')), this.delay())
        return
      }
      dst.clock.deliver(() => {
        if (dst.handlers === undefined) return settle(new GossipExchangeError(peer, 'connection refused'))
        dst.handlers.exchange(request, from).then(
          (answer) => {
            if (answer === undefined) return settle(new GossipExchangeError(peer, 'closed without an answer'))
            if (!this.reachable(src, dst)) return
            fromClock.deliver(() => settle(undefined, answer), this.delay())
          },
          (err: unknown) => settle(new GossipExchangeError(peer, 'peer failed', { cause: err })),
        )
      }, this.delay())
    })
  }
}

class MemoryTransport implements GossipTransport {
  private bound = false
  constructor(
    private readonly network: MemoryNetwork,
    private readonly address: HostPort,
    private readonly clock: NodeClock,
  ) {}

  // eslint-disable-next-line @typescript-eslint/require-await -- GossipTransport is async; a throw must reject
  async listen(handlers: TransportHandlers): Promise<HostPort> {
    this.network.bind(this.address, this.clock, handlers)
    this.bound = true
    return this.address
  }

  send(to: HostPort, data: Buffer): void {
    if (this.bound && !this.clock.crashed) this.network.deliver(this.address, to, data)
  }

  exchange(to: HostPort, request: Buffer, timeoutMs: number): Promise<Buffer> {
    if (!this.bound) return Promise.reject(new GossipExchangeError(formatAddress(to), 'transport closed'))
    return this.network.exchange(this.address, this.clock, to, request, timeoutMs)
  }

  // eslint-disable-next-line @typescript-eslint/require-await -- GossipTransport is async; a throw must reject
  async close(): Promise<void> {
    if (!this.bound) return
    this.bound = false
    this.network.unbind(this.address, this.clock)
  }
}
