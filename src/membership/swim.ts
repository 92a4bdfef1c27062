/**
 * Membership: the SWIM protocol with the Lifeguard extensions, between sidecars. It owns the
 * protocol state of one node (member table, suspicions, broadcast queue, local health) and the
 * loops that move it: probes (probe.ts), gossip of queued claims to a few random members,
 * periodic push-pull full syncs (also with a lost member or a seed, which heals partitions), and
 * tombstone reaping. Claims from any source go through one precedence function (member.ts).
 * A leaf: bytes go through an injected GossipTransport, time and randomness are injected, it
 * tells the outside through events, and it knows nothing of HTTP or config files.
 */
import type { Clock, Random, Timer } from '../clock.js'
import type { GossipConfig } from '../config/types.js'
import type { Startable } from '../lifecycle.js'
import { Awareness, FixedHealth, type LocalHealth } from './awareness.js'
import { BroadcastQueue } from './broadcast-queue.js'
import {
  decodePacket,
  decodePushPull,
  encodeMessage,
  encodePacket,
  encodePushPull,
  PACKET_HEADER,
  typeOfEncoded,
  type HealthReport,
  type Message,
  type PingReq,
} from './codec.js'
import { GossipCounters, type DropReason, type GossipObserver } from './counters.js'
import { Envelope, type Channel } from './envelope.js'
import { GossipMetaError } from './errors.js'
import { aliveClaim, decide, EMPTY_META, isLive, sameMeta, type Claim, type Member, type MemberState, type NodeMeta } from './member.js'
import { MemberTable } from './member-table.js'
import { MeshHealth } from './mesh-health.js'
import { AckTable, Prober } from './probe.js'
import { pushPullIntervalMs, remoteClaims } from './push-pull.js'
import { Backoff, dnsLookup, JoinRetry, resolveSeeds, type Lookup } from './seeds.js'
import { Suspicion, suspicionTimeouts } from './suspicion.js'
import { formatAddress, type GossipTransport, type HostPort } from './transport.js'

/** The pino methods used (a pino Logger fits). */
export interface GossipLogger {
  debug(obj: object, msg?: string): void
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
  error(obj: object, msg?: string): void
}

export interface MembershipOptions {
  readonly config: GossipConfig
  readonly node: { readonly name: string; readonly zone?: string | undefined; readonly adminAddress?: string | undefined }
  readonly transport: GossipTransport
  readonly clock: Clock
  readonly random: Random
  readonly logger: GossipLogger
  /** Current event-loop delay in ms (e.g. LoopLagMonitor.delayMs), fed into local health. */
  readonly eventLoopDelay?: () => number
  readonly observer?: GossipObserver
  /** Services offered at start. */
  readonly meta?: NodeMeta
  /** DNS for seed names (default dns.lookup). */
  readonly lookup?: Lookup
  /** Members known before joining (the simulator primes large clusters this way). */
  readonly initialMembers?: readonly Member[]
  /** Replay window and maximum packet age (ms, default 120 s). */
  readonly replayWindowMs?: number
}

/** A member as the rest of commy sees it. */
export interface MemberInfo {
  readonly name: string
  /** Gossip address `host:port`. */
  readonly address: string
  readonly host: string
  readonly port: number
  readonly state: MemberState
  readonly incarnation: number
  readonly zone: string | undefined
  readonly adminAddress: string | undefined
  readonly meta: NodeMeta
  readonly self: boolean
}

export interface MembershipEvents {
  /** A member appeared or its state changed (alive, suspect, dead, left). */
  change: (member: MemberInfo, previous: MemberInfo | undefined) => void
  /** Same state, new incarnation, address or metadata (e.g. its services). */
  update: (member: MemberInfo, previous: MemberInfo) => void
  /** A tombstone was reaped. */
  forget: (name: string) => void
  /** The mesh-wide weight factor of an endpoint changed (see MeshHealth). */
  'mesh-health': (endpoint: string, factor: number) => void
  /** The first push-pull with a seed succeeded (or there was no seed to join). */
  joined: () => void
}

type Phase = 'idle' | 'running' | 'leaving' | 'stopped'
type Listeners = { [E in keyof MembershipEvents]: Set<MembershipEvents[E]> }

function toInfo(m: Member, self: string): MemberInfo {
  return {
    name: m.name,
    address: formatAddress(m),
    host: m.host,
    port: m.port,
    state: m.state,
    incarnation: m.incarnation,
    zone: m.zone === '' ? undefined : m.zone,
    adminAddress: m.adminAddress === '' ? undefined : m.adminAddress,
    meta: m.meta,
    self: m.name === self,
  }
}

export class Membership implements Startable {
  readonly counters: GossipCounters
  readonly name: string
  private readonly cfg: GossipConfig
  private readonly clock: Clock
  private readonly random: Random
  private readonly log: GossipLogger
  private readonly transport: GossipTransport
  private readonly envelope: Envelope
  private readonly table: MemberTable
  private readonly queue: BroadcastQueue
  private readonly health: LocalHealth
  private readonly acks: AckTable
  private readonly prober: Prober
  private readonly mesh: MeshHealth
  private readonly suspicions = new Map<string, Suspicion>()
  private readonly tombstones = new Set<string>()
  private readonly told = new Map<string, number>()
  private readonly ownReports = new Map<string, HealthReport>()
  private readonly listeners: Listeners = { change: new Set(), update: new Set(), forget: new Set(), 'mesh-health': new Set(), joined: new Set() }
  private readonly joinRetry: JoinRetry
  private readonly lookup: Lookup
  private readonly options: MembershipOptions
  private readonly timers = new Map<string, Timer>()
  private phase: Phase = 'idle'
  private starting: Promise<void> | undefined
  private stopping: Promise<void> | undefined
  private joinedOnce = false
  private bound: HostPort | undefined
  private meta: NodeMeta

  constructor(options: MembershipOptions) {
    this.options = options
    this.cfg = options.config
    this.name = options.node.name
    this.clock = options.clock
    this.random = options.random
    this.log = options.logger
    this.transport = options.transport
    this.lookup = options.lookup ?? dnsLookup
    this.meta = options.meta ?? EMPTY_META
    this.counters = new GossipCounters(options.observer)
    this.envelope = new Envelope({ keys: this.cfg.keys, cluster: this.cfg.cluster, wallNow: () => this.clock.wallNow(), replayWindowMs: options.replayWindowMs })
    this.table = new MemberTable(this.name, this.random)
    this.queue = new BroadcastQueue({ retransmitMult: this.cfg.retransmitMult })
    this.health = this.cfg.lifeguard
      ? new Awareness(8, (score, delta) => this.log.debug({ score, delta }, 'local health score changed'))
      : new FixedHealth()
    this.acks = new AckTable(this.clock)
    this.mesh = new MeshHealth({
      quorum: this.cfg.healthQuorum,
      ttlMs: 30 * this.cfg.probeIntervalMs,
      now: () => this.clock.now(),
      onChange: (endpoint, factor) => this.emit('mesh-health', endpoint, factor),
    })
    this.prober = new Prober(this.clock, this.cfg, this.health, this.acks, {
      next: () => this.table.nextProbeTarget(),
      helpers: (target, k) => this.table.sample(k, (m) => m.state === 'alive' && m.name !== target.name),
      ping: (target, seq) => this.sendPing(target, seq),
      pingReq: (helper, target, seq, nack) =>
        this.send(helper, [encodeMessage({ type: 'ping-req', seq, target: target.name, host: target.host, port: target.port, source: this.name, nack })]),
      failed: (target) => this.probeFailed(target),
      loopDelay: () => options.eventLoopDelay?.() ?? 0,
    })
    const interval = Math.max(200, this.cfg.probeIntervalMs)
    this.joinRetry = new JoinRetry(this.clock, new Backoff(interval, 30 * interval, this.random), () => this.joinOnce())
    for (const m of options.initialMembers ?? []) {
      if (m.name === this.name) continue
      this.table.set(m)
      if (!isLive(m.state)) this.tombstones.add(m.name)
    }
  }

  // ------------------------------------------------------------------ public API

  on<E extends keyof MembershipEvents>(event: E, fn: MembershipEvents[E]): () => void {
    ;(this.listeners[event] as Set<MembershipEvents[E]>).add(fn)
    return () => void (this.listeners[event] as Set<MembershipEvents[E]>).delete(fn)
  }

  /** Binds the transport, then joins the seeds: resolves after the first attempt (retries go on with backoff). */
  start(): Promise<void> {
    this.starting ??= this.doStart()
    return this.starting
  }

  /** Leaves gracefully (peers learn within about a second), then closes. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= this.doStop(true)
    return this.stopping
  }

  /** Stops at once without telling anyone (peers will detect the silence). Idempotent. */
  halt(): Promise<void> {
    this.stopping ??= this.doStop(false)
    return this.stopping
  }

  /** Every member known, this node and tombstones included. */
  members(): MemberInfo[] {
    const out: MemberInfo[] = []
    for (const m of this.table.values()) out.push(toInfo(m, this.name))
    return out
  }

  member(name: string): MemberInfo | undefined {
    const m = this.table.get(name)
    return m === undefined ? undefined : toInfo(m, this.name)
  }

  /** State of a member by name (cheap; the simulator polls it). */
  stateOf(name: string): MemberState | undefined {
    return this.table.get(name)?.state
  }

  incarnationOf(name: string): number | undefined {
    return this.table.get(name)?.incarnation
  }

  /** Alive and suspect members, this node included. */
  get liveCount(): number {
    return this.table.live
  }

  /** The advertised gossip address (after start). */
  get address(): HostPort | undefined {
    const me = this.table.get(this.name)
    return me === undefined ? undefined : { host: me.host, port: me.port }
  }

  get joined(): boolean {
    return this.joinedOnce
  }

  /** Lifeguard's local health score (0 = healthy). */
  get localHealth(): number {
    return this.health.score
  }

  get encrypted(): boolean {
    return this.envelope.encrypted
  }

  /** Announces new metadata (the services this node offers): bumps the incarnation so it wins over stale data. */
  setLocalMeta(meta: NodeMeta): void {
    const me = this.table.get(this.name)
    let size: number
    try {
      size = encodeMessage(aliveClaim({ ...(me ?? this.selfRecord({ host: 'x', port: 0 })), meta })).length
    } catch (err) {
      throw new GossipMetaError(`node metadata cannot be encoded: ${(err as Error).message}`, { cause: err })
    }
    const limit = this.cfg.mtu - this.envelope.overhead - PACKET_HEADER - 64
    if (size > limit) throw new GossipMetaError(`node metadata is ${size} bytes encoded; the limit under the MTU is ${limit}`)
    if (sameMeta(meta, this.meta)) return
    this.meta = meta
    if (me === undefined || this.phase !== 'running') return
    this.commitSelf({ ...me, meta, incarnation: me.incarnation + 1 }, 'metadata changed')
  }

  /**
   * Passive health of an endpoint as this sidecar sees it: while failing, the report is gossiped
   * and refreshed; recovery is gossiped once. Other nodes lower the endpoint's weight only when a
   * quorum of distinct sidecars report it failing.
   */
  reportEndpoint(endpoint: string, failing: boolean): void {
    const held = this.ownReports.get(endpoint)
    if (!failing && held === undefined) return
    if (failing && held?.failing === true) return
    this.publishReport(endpoint, failing)
    if (!failing) this.ownReports.delete(endpoint)
  }

  /** Mesh-wide weight factor of an endpoint `host:port`, in (0, 1]. */
  meshHealth(endpoint: string): number {
    return this.mesh.factor(endpoint)
  }

  /** Nodes currently reporting the endpoint failing. */
  meshReporters(endpoint: string): string[] {
    return this.mesh.failingReporters(endpoint)
  }

  // ------------------------------------------------------------------ lifecycle

  private async doStart(): Promise<void> {
    if (this.phase !== 'idle') return
    this.bound = await this.transport.listen({
      packet: (data, from) => this.onPacket(data, from),
      exchange: (req, from) => this.onExchange(req, from),
    })
    if (this.stopping !== undefined) return
    const adv = this.cfg.advertise
    const host = adv.host === '0.0.0.0' || adv.host === '::' ? this.bound.host : adv.host
    const port = adv.port === 0 || (adv.port === this.cfg.listen.port && adv.host === this.cfg.listen.host) ? this.bound.port : adv.port
    if (host === '0.0.0.0' || host === '::') this.log.warn({ host }, 'gossip advertises a wildcard address; set gossip.advertise')
    const me = this.selfRecord({ host, port })
    this.table.set(me)
    this.broadcast(`m:${this.name}`, aliveClaim(me))
    this.phase = 'running'
    this.prober.start(this.random() * this.cfg.probeIntervalMs)
    this.every('gossip', () => this.cfg.gossipIntervalMs, () => this.gossip())
    if (this.cfg.pushPullIntervalMs > 0) {
      this.every('push-pull', () => pushPullIntervalMs(this.cfg.pushPullIntervalMs, this.table.live) * (0.75 + 0.5 * this.random()), () => this.antiEntropy())
    }
    this.every('reap', () => Math.max(1000, Math.min(this.cfg.tombstoneTimeoutMs / 4, 30_000)), () => this.reap())
    this.every('health', () => 10 * this.cfg.probeIntervalMs, () => this.refreshHealth())
    this.log.info({ address: formatAddress({ host, port }), encrypted: this.envelope.encrypted, cluster: this.cfg.cluster, seeds: this.cfg.seeds }, 'gossip started')
    await this.joinRetry.start()
  }

  private async doStop(graceful: boolean): Promise<void> {
    await this.starting?.catch(() => {})
    if (graceful && this.phase === 'running') await this.leave()
    this.phase = 'stopped'
    this.joinRetry.stop()
    this.prober.stop()
    for (const t of this.timers.values()) t.cancel()
    this.timers.clear()
    for (const s of this.suspicions.values()) s.cancel()
    this.suspicions.clear()
    this.acks.clear()
    this.queue.clear()
    await this.transport.close()
  }

  private async leave(): Promise<void> {
    const me = this.table.get(this.name)!
    this.phase = 'leaving'
    this.prober.stop()
    this.table.set({ ...me, state: 'left', changedAt: this.clock.now() })
    const claim: Claim = { type: 'left', name: this.name, incarnation: me.incarnation }
    const encoded = encodeMessage(claim)
    const direct = this.table.sample(this.table.live <= 65 ? 64 : 3 * this.cfg.gossipNodes, (m) => isLive(m.state))
    for (const m of direct) this.send(m, [encoded], false)
    this.log.info({ incarnation: me.incarnation, told: direct.length }, 'leaving the cluster')
    const waitMs = Math.min(1000, 5 * this.cfg.gossipIntervalMs)
    await new Promise<void>((resolve) => {
      const timer = this.clock.setTimer(resolve, waitMs)
      this.queue.enqueue(`m:${this.name}`, encoded, () => {
        timer.cancel()
        resolve()
      })
    })
  }

  private every(name: string, interval: () => number, fn: () => void): void {
    const run = (): void => {
      if (this.phase !== 'running' && this.phase !== 'leaving') return
      try {
        fn()
      } catch (err) {
        this.counters.handlerErrors++
        this.log.error({ err, loop: name }, 'gossip loop failed')
      }
      this.timers.set(name, this.clock.setTimer(run, interval()))
    }
    this.timers.set(name, this.clock.setTimer(run, interval() * this.random()))
  }

  private selfRecord(at: HostPort): Member {
    const n = this.options.node
    return { name: this.name, host: at.host, port: at.port, state: 'alive', incarnation: 0, zone: n.zone ?? '', adminAddress: n.adminAddress ?? '', meta: this.meta, changedAt: this.clock.now() }
  }

  // ------------------------------------------------------------------ join

  private async joinOnce(): Promise<boolean> {
    if (this.phase !== 'running') return true
    if (this.cfg.seeds.length === 0) return this.markJoined(0)
    const me = this.table.get(this.name)!
    const resolved = await resolveSeeds(this.cfg.seeds, this.lookup)
    if (resolved.length === 0) {
      this.log.warn({ seeds: this.cfg.seeds }, 'no gossip seed resolves yet; retrying')
      return false
    }
    const seeds = resolved.filter((s) => !this.isSelf(s, me))
    if (seeds.length === 0) return this.markJoined(0)
    const results = await Promise.all(seeds.map((s) => this.pushPull(s, true)))
    const ok = results.filter(Boolean).length
    if (ok > 0) return this.markJoined(ok)
    this.log.warn({ seeds: seeds.map(formatAddress) }, 'no gossip seed answered; retrying with backoff')
    return false
  }

  private markJoined(seeds: number): boolean {
    if (!this.joinedOnce) {
      this.joinedOnce = true
      this.log.info({ seeds, members: this.table.live }, 'joined the cluster')
      this.emit('joined')
    }
    return true
  }

  private isSelf(a: HostPort, me: Member): boolean {
    return a.port === me.port && (a.host === me.host || (this.bound !== undefined && a.host === this.bound.host && a.port === this.bound.port))
  }

  // ------------------------------------------------------------------ sending

  /** Sends `primary` messages with as many queued broadcasts as fit under the MTU. */
  private send(to: HostPort, primary: Uint8Array[], piggyback = true): void {
    let size = this.envelope.overhead + PACKET_HEADER
    for (const p of primary) size += p.length
    const extra = piggyback ? this.queue.take(this.table.live, 0, this.cfg.mtu - size) : []
    const all = extra.length > 0 ? [...primary, ...extra] : primary
    if (all.length === 0) return
    const data = this.envelope.seal(encodePacket(all), 'packet')
    for (const m of all) this.counters.message('out', typeOfEncoded(m))
    this.counters.packet('out', data.length)
    this.transport.send({ host: to.host, port: to.port }, data)
  }

  private sendPing(target: Member, seq: number): void {
    const msgs: Uint8Array[] = [encodeMessage({ type: 'ping', seq, target: target.name, source: this.name })]
    // Lifeguard's buddy system: a suspect hears of its suspicion on every probe of it
    if (target.state === 'suspect' && this.cfg.lifeguard) msgs.push(encodeMessage({ type: 'suspect', name: target.name, incarnation: target.incarnation, from: this.name }))
    this.send(target, msgs)
  }

  private broadcast(key: string, m: Message): void {
    this.queue.enqueue(key, encodeMessage(m))
  }

  // ------------------------------------------------------------------ receiving

  private onPacket(data: Buffer, from: HostPort): void {
    if (this.phase !== 'running' && this.phase !== 'leaving') return
    this.counters.packet('in', data.length)
    const opened = this.envelope.open(data, 'packet')
    if (!opened.ok) return this.dropped(opened.reason, from)
    const decoded = decodePacket(opened.payload)
    if (!decoded.ok) return this.dropped(decoded.reason === 'version' ? 'version' : 'decode', from)
    this.counters.unknownMessages += decoded.unknown
    for (const msg of decoded.messages) {
      this.counters.message('in', msg.type)
      try {
        this.handle(msg, from)
      } catch (err) {
        this.counters.handlerErrors++
        this.log.warn({ err, type: msg.type }, 'gossip message handler failed')
      }
    }
  }

  private dropped(reason: DropReason | 'plaintext' | 'encrypted', from: HostPort): void {
    const r: DropReason = reason === 'plaintext' || reason === 'encrypted' ? 'auth' : reason
    this.counters.drop(r)
    this.log.debug({ from: formatAddress(from), reason }, 'gossip packet dropped')
  }

  private handle(msg: Message, from: HostPort): void {
    switch (msg.type) {
      case 'ping':
        if (msg.target !== this.name) {
          this.counters.misdirectedPings++
          return
        }
        this.send(from, [encodeMessage({ type: 'ack', seq: msg.seq })])
        this.tellIfGone(msg.source, from)
        return
      case 'ping-req':
        return this.relay(msg, from)
      case 'ack':
        this.acks.ack(msg.seq)
        return
      case 'nack':
        this.acks.nack(msg.seq)
        return
      case 'health':
        return this.receiveReport(msg)
      default:
        return this.apply(msg)
    }
  }

  /** A member we hold dead or left pinged us: it restarted or came back; tell it so it refutes. */
  private tellIfGone(source: string, from: HostPort): void {
    const m = this.table.get(source)
    if (m === undefined || isLive(m.state)) return
    const now = this.clock.now()
    if (now - (this.told.get(source) ?? -Infinity) < this.cfg.probeIntervalMs) return
    this.told.set(source, now)
    const claim: Claim = m.state === 'left' ? { type: 'left', name: m.name, incarnation: m.incarnation } : { type: 'dead', name: m.name, incarnation: m.incarnation, from: this.name }
    this.send(from, [encodeMessage(claim)], false)
  }

  private relay(req: PingReq, from: HostPort): void {
    const seq = this.acks.nextSeq()
    let done = false
    const nackTimer = req.nack
      ? this.clock.setTimer(() => {
          if (done) return
          done = true
          this.acks.forget(seq)
          this.send(from, [encodeMessage({ type: 'nack', seq: req.seq })])
        }, 0.8 * this.cfg.probeTimeoutMs)
      : undefined
    this.acks.expect(
      seq,
      {
        ack: () => {
          if (done) return
          done = true
          nackTimer?.cancel()
          this.acks.forget(seq)
          this.send(from, [encodeMessage({ type: 'ack', seq: req.seq })])
        },
      },
      2 * this.cfg.probeIntervalMs,
    )
    this.send({ host: req.host, port: req.port }, [encodeMessage({ type: 'ping', seq, target: req.target, source: this.name })])
  }

  // ------------------------------------------------------------------ claims

  private apply(claim: Claim): void {
    const current = this.table.get(claim.name)
    const verdict = decide(current, claim, { self: this.name, now: this.clock.now(), leaving: this.phase !== 'running' })
    switch (verdict.kind) {
      case 'ignore':
        return
      case 'refute':
        return this.refute(claim, verdict.reason)
      case 'confirm':
        if (this.suspicions.get(claim.name)?.confirm(verdict.from)) this.broadcast(`m:${claim.name}`, claim)
        return
      case 'apply':
        return this.commit(current, verdict.next, claim, verdict.reason)
    }
  }

  private commit(prev: Member | undefined, next: Member, claim: Claim, reason: string): void {
    this.table.set(next)
    const name = next.name
    if (next.state === 'suspect') {
      if (prev?.state !== 'suspect' || prev.incarnation !== next.incarnation) this.suspect(next, claim.type === 'suspect' ? claim.from : this.name)
    } else {
      this.suspicions.get(name)?.cancel()
      this.suspicions.delete(name)
    }
    if (isLive(next.state)) this.tombstones.delete(name)
    else {
      this.tombstones.add(name)
      this.mesh.forget(name)
      if (next.state === 'dead' && prev?.state !== 'dead') this.counters.deaths++
    }
    this.broadcast(`m:${name}`, claim)
    this.announce(prev, next, reason)
  }

  private suspect(m: Member, from: string): void {
    this.counters.suspicions++
    this.suspicions.get(m.name)?.cancel()
    const timeouts = suspicionTimeouts(this.table.live, this.cfg)
    const inc = m.incarnation
    this.suspicions.set(
      m.name,
      new Suspicion(from, timeouts, this.clock, (confirmations) => {
        this.suspicions.delete(m.name)
        const cur = this.table.get(m.name)
        if (cur?.state !== 'suspect' || cur.incarnation !== inc) return
        this.log.info({ member: m.name, confirmations, timeoutMs: Math.round(this.clock.now() - cur.changedAt) }, 'suspicion timed out')
        this.apply({ type: 'dead', name: m.name, incarnation: inc, from: this.name })
      }, this.cfg.lifeguard ? this.cfg.probeTimeoutMs : 0),
    )
    // Lifeguard: tell the suspect at once so it can refute
    if (from === this.name && this.cfg.lifeguard) this.send(m, [encodeMessage({ type: 'suspect', name: m.name, incarnation: inc, from: this.name })])
  }

  private probeFailed(target: Member): void {
    this.counters.failedProbes++
    const cur = this.table.get(target.name)
    if (cur === undefined || !isLive(cur.state)) return
    this.apply({ type: 'suspect', name: cur.name, incarnation: cur.incarnation, from: this.name })
  }

  private refute(claim: Claim, reason: string): void {
    const me = this.table.get(this.name)
    if (me === undefined) return
    this.counters.refutations++
    if (claim.type === 'suspect' || claim.type === 'dead') this.health.apply(1)
    const next = { ...me, state: 'alive' as const, incarnation: Math.max(me.incarnation, claim.incarnation) + 1 }
    this.commitSelf(next, `refuted: ${reason}`)
    if ((claim.type === 'suspect' || claim.type === 'dead') && claim.from !== this.name) {
      const accuser = this.table.get(claim.from)
      if (accuser !== undefined && isLive(accuser.state)) this.send(accuser, [encodeMessage(aliveClaim(next))])
    }
  }

  private commitSelf(next: Member, reason: string): void {
    const prev = this.table.set(next)
    this.broadcast(`m:${this.name}`, aliveClaim(next))
    this.announce(prev, next, reason)
  }

  private announce(prev: Member | undefined, next: Member, reason: string): void {
    if (prev === undefined || prev.state !== next.state) {
      this.log.info({ member: next.name, from: prev?.state ?? 'unknown', to: next.state, incarnation: next.incarnation, reason }, 'member state changed')
      if (this.listeners.change.size > 0) this.emit('change', toInfo(next, this.name), prev && toInfo(prev, this.name))
    } else if (this.listeners.update.size > 0) {
      this.emit('update', toInfo(next, this.name), toInfo(prev, this.name))
    }
  }

  private emit<E extends keyof MembershipEvents>(event: E, ...args: Parameters<MembershipEvents[E]>): void {
    for (const fn of this.listeners[event] as Set<(...a: Parameters<MembershipEvents[E]>) => void>) {
      try {
        fn(...args)
      } catch (err) {
        this.log.error({ err, event }, 'membership listener failed')
      }
    }
  }

  // ------------------------------------------------------------------ loops

  private gossip(): void {
    if (this.queue.size === 0) return
    const now = this.clock.now()
    const deadWindow = 15 * this.cfg.probeIntervalMs
    const targets = this.table.sample(this.cfg.gossipNodes, (m) => isLive(m.state) || (m.state === 'dead' && now - m.changedAt < deadWindow))
    for (const t of targets) {
      if (this.queue.size === 0) break
      this.send(t, [])
    }
  }

  private antiEntropy(): void {
    const peer = this.table.sample(1, (m) => isLive(m.state))[0]
    if (peer !== undefined) void this.pushPull(peer, false)
    // reconnect: a member we hold dead may be alive behind a healed partition
    const lost = this.table.sample(1, (m) => m.state === 'dead')[0]
    if (lost !== undefined) void this.pushPull(lost, false)
    // alone (everyone else gone or never joined): go back to the seeds
    if (peer === undefined && this.cfg.seeds.length > 0 && !this.joinRetry.active) void this.joinRetry.start()
  }

  private reap(): void {
    const cutoff = this.clock.now() - this.cfg.tombstoneTimeoutMs
    for (const name of this.tombstones) {
      const m = this.table.get(name)
      if (m !== undefined && isLive(m.state)) {
        this.tombstones.delete(name)
        continue
      }
      if (m !== undefined && m.changedAt > cutoff) continue
      this.tombstones.delete(name)
      this.told.delete(name)
      if (m === undefined) continue
      this.table.delete(name)
      this.log.debug({ member: name, state: m.state }, 'tombstone reaped')
      this.emit('forget', name)
    }
  }

  private refreshHealth(): void {
    this.mesh.expire()
    for (const [endpoint, r] of this.ownReports) if (r.failing) this.publishReport(endpoint, true)
  }

  private publishReport(endpoint: string, failing: boolean): void {
    const held = this.ownReports.get(endpoint)
    const version = Math.max(this.clock.wallNow(), (held?.version ?? 0) + 1)
    const report: HealthReport = { type: 'health', reporter: this.name, endpoint, failing, version }
    this.ownReports.set(endpoint, report)
    this.mesh.record(report)
    this.broadcast(`h:${this.name}|${endpoint}`, report)
  }

  private receiveReport(r: HealthReport): void {
    if (r.reporter === this.name) return
    const reporter = this.table.get(r.reporter)
    if (reporter !== undefined && !isLive(reporter.state)) return
    if (this.mesh.record(r)) this.broadcast(`h:${r.reporter}|${r.endpoint}`, r)
  }

  // ------------------------------------------------------------------ push-pull

  private localState(join: boolean): Buffer {
    return encodePushPull({ join, from: this.name, members: [...this.table.values()], health: this.mesh.reports() })
  }

  private async pushPull(to: HostPort, join: boolean): Promise<boolean> {
    const peer = formatAddress(to)
    try {
      const request = this.seal(this.localState(join), 'stream')
      const answer = await this.transport.exchange({ host: to.host, port: to.port }, request, Math.max(1000, 10 * this.cfg.probeTimeoutMs))
      if (this.phase === 'stopped') return false
      this.counters.packet('in', answer.length)
      if (!this.mergeFrame(answer, to)) throw new Error('unusable answer')
      this.counters.pushPulls++
      return true
    } catch (err) {
      this.counters.pushPullFailures++
      this.log.debug({ peer, err: (err as Error).message }, 'push-pull failed')
      return false
    }
  }

  private async onExchange(request: Buffer, from: HostPort): Promise<Buffer | undefined> {
    if (this.phase !== 'running' && this.phase !== 'leaving') return undefined
    this.counters.packet('in', request.length)
    const answer = this.localState(false)
    if (!this.mergeFrame(request, from)) return undefined
    this.counters.pushPulls++
    return this.seal(answer, 'stream')
  }

  private seal(payload: Buffer, channel: Channel): Buffer {
    const data = this.envelope.seal(payload, channel)
    this.counters.message('out', 'push-pull')
    this.counters.packet('out', data.length)
    return data
  }

  private mergeFrame(frame: Buffer, from: HostPort): boolean {
    const opened = this.envelope.open(frame, 'stream')
    if (!opened.ok) {
      this.dropped(opened.reason, from)
      return false
    }
    const decoded = decodePushPull(opened.payload)
    if (!decoded.ok) {
      this.dropped(decoded.reason === 'version' ? 'version' : 'decode', from)
      return false
    }
    this.counters.message('in', 'push-pull')
    for (const claim of remoteClaims(decoded.value)) this.apply(claim)
    for (const r of decoded.value.health) this.receiveReport(r)
    return true
  }
}
