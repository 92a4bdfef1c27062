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
import { encodeMessage, type HealthReport, type Message, type PushPull } from './codec.js'
import { GossipCounters } from './counters.js'
import { Envelope } from './envelope.js'
import { toInfo, type GossipLogger, type MemberInfo, type MembershipEvents, type MembershipOptions } from './api.js'
import { aliveClaim, decide, EMPTY_META, isLive, sameMeta, type Claim, type Member, type MemberState, type NodeMeta } from './member.js'
import { MemberTable } from './member-table.js'
import { MeshHealth } from './mesh-health.js'
import { AckTable, Prober, relayPingReq } from './probe.js'
import { AntiEntropy, pushPullIntervalMs, remoteClaims } from './push-pull.js'
import { Ticker } from '../ticker.js'
import { EventHub } from '../listeners.js'
import { Backoff, JoinRetry, joinSeeds, selfMatcher, type JoinOutcome } from './seeds.js'
import { describeJoinState, isJoined, nextJoinState, type JoinEvent, type JoinState } from './join-state.js'
import { systemSeedResolver, type SeedResolver } from './seed-resolver.js'
import { Suspicions, suspicionTimeouts } from './suspicion.js'
import { advertisedAddress, formatAddress, type GossipTransport, type HostPort } from './transport.js'
import { Wire } from './wire.js'

export type { GossipLogger, MemberInfo, MembershipEvents, MembershipOptions }

type Phase = 'idle' | 'running' | 'leaving' | 'left' | 'stopped'

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
  private readonly wire: Wire
  private readonly sync: AntiEntropy
  private readonly health: LocalHealth
  private readonly acks: AckTable
  private readonly prober: Prober
  private readonly mesh: MeshHealth
  private readonly listeners: EventHub<MembershipEvents>
  private readonly joinRetry: JoinRetry
  private readonly suspicions: Suspicions
  /** The protocol's periodic loops (gossip, push-pull, reaping, health refresh), armed by start(). */
  private loops: Ticker[] = []
  /** When we last told a gone member it is held gone (rate limit). */
  private readonly told = new Map<string, number>()
  private readonly options: MembershipOptions
  private phase: Phase = 'idle'
  private starting: Promise<void> | undefined
  private stopping: Promise<void> | undefined
  private joinState: JoinState = { kind: 'joining', since: 0 }
  private joinTimer: Timer | undefined
  private readonly resolver: SeedResolver
  private bound: HostPort | undefined
  private meta: NodeMeta

  constructor(options: MembershipOptions) {
    const cfg = options.config
    this.options = options
    this.cfg = cfg
    this.name = options.node.name
    this.clock = options.clock
    this.random = options.random
    this.log = options.logger
    this.transport = options.transport
    this.meta = options.meta ?? EMPTY_META
    this.listeners = new EventHub<MembershipEvents>((err, event) => this.log.error({ err, event }, 'membership listener failed'))
    this.counters = new GossipCounters(options.observer)
    this.envelope = new Envelope({ keys: cfg.keys, cluster: cfg.cluster, wallNow: () => this.clock.wallNow(), replayWindowMs: options.replayWindowMs })
    this.table = new MemberTable(this.name, this.random)
    this.queue = new BroadcastQueue({ retransmitMult: cfg.retransmitMult })
    this.wire = new Wire({ envelope: this.envelope, transport: this.transport, queue: this.queue, counters: this.counters, mtu: cfg.mtu, clusterSize: () => this.table.live, log: this.log })
    this.sync = new AntiEntropy(this.wire, this.transport, this.counters, this.log, Math.max(1000, 10 * cfg.probeTimeoutMs), {
      localState: (join) => this.localState(join),
      merge: (remote) => this.merge(remote),
      running: () => this.phase === 'running' || this.phase === 'leaving',
    })
    this.health = cfg.lifeguard ? new Awareness(8, (score, delta) => this.log.debug({ score, delta }, 'local health score changed')) : new FixedHealth()
    this.acks = new AckTable(this.clock)
    this.suspicions = new Suspicions(this.clock, cfg.lifeguard ? cfg.probeTimeoutMs : 0)
    this.mesh = new MeshHealth({
      self: this.name,
      quorum: cfg.healthQuorum,
      ttlMs: 30 * cfg.probeIntervalMs,
      now: () => this.clock.now(),
      wallNow: () => this.clock.wallNow(),
      onChange: (endpoint, factor) => this.listeners.emit('mesh-health', endpoint, factor),
    })
    this.prober = new Prober(this.clock, cfg, this.health, this.acks, {
      next: () => this.table.nextProbeTarget(),
      helpers: (target, k) => this.table.sample(k, (m) => m.state === 'alive' && m.name !== target.name),
      ping: (target, seq) => this.sendPing(target, seq),
      pingReq: (helper, target, seq, nack) =>
        this.wire.send(helper, [encodeMessage({ type: 'ping-req', seq, target: target.name, host: target.host, port: target.port, source: this.name, nack })]),
      failed: (target) => this.probeFailed(target),
      loopDelay: () => options.eventLoopDelay?.() ?? 0,
    })
    const base = Math.max(200, cfg.probeIntervalMs)
    this.resolver = options.resolver ?? systemSeedResolver()
    this.joinRetry = new JoinRetry(this.clock, new Backoff(base, 30 * base, this.random), () => this.joinOnce())
    for (const m of options.initialMembers ?? []) if (m.name !== this.name) this.table.set(m)
  }

  // ------------------------------------------------------------------ public API

  on<E extends keyof MembershipEvents>(event: E, fn: MembershipEvents[E]): () => void {
    return this.listeners.listen(event, fn)
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

  /**
   * Leaves gracefully (peers learn within about a second) but keeps the transport bound, so that
   * `rejoin()` can come back: a drain that may be reversed. While left, the protocol loops are
   * stopped and incoming packets and push-pulls are ignored; `stop()` still closes everything.
   */
  async pause(): Promise<void> {
    await this.starting?.catch(() => {})
    if (this.phase !== 'running') return
    await this.leave()
    if ((this.phase as Phase) !== 'leaving') return // stopped meanwhile
    this.phase = 'left'
    this.disarm()
  }

  /**
   * After `pause()`: alive again at a higher incarnation (which wins over our `left` everywhere,
   * as a restarted node's does), with the metadata set meanwhile; the loops restart and the seeds
   * are asked again. Resolves after the first join attempt. Does nothing unless paused.
   */
  async rejoin(): Promise<void> {
    const me = this.table.get(this.name)
    if (this.phase !== 'left' || me === undefined) return
    this.phase = 'running'
    this.commitSelf({ ...me, state: 'alive', meta: this.meta, incarnation: me.incarnation + 1, changedAt: this.clock.now() }, 'rejoined after a pause')
    this.arm()
    this.log.info({ incarnation: me.incarnation + 1 }, 'rejoining the cluster')
    await this.joinRetry.start()
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

  /**
   * A seed answered, or there was nobody else to join (no seed, or the seeds are only this node).
   * Serving as a cluster of one for another reason (a timeout, seeds that resolve to nothing) is
   * not joined: see `joinStatus`.
   */
  get joined(): boolean {
    return isJoined(this.joinState)
  }

  /** Where the join stands: joining (waiting for a seed), joined, or alone (a cluster of one, still trying). */
  get joinStatus(): JoinState {
    return this.joinState
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
    this.wire.assertFits(aliveClaim({ ...(me ?? this.selfRecord({ host: 'x', port: 0 })), meta }), 64)
    if (sameMeta(meta, this.meta)) return
    this.meta = meta
    if (me === undefined || this.phase !== 'running') return
    this.commitSelf({ ...me, meta, incarnation: me.incarnation + 1 }, 'metadata changed')
  }

  /**
   * One join attempt through `seeds` now (e.g. seeds a config reload added): a push-pull with each
   * address that is not this node. Resolves with what the attempt found.
   */
  async join(seeds: readonly string[]): Promise<JoinOutcome> {
    if (this.phase !== 'running') return { kind: 'silent', tried: 0 }
    const outcome = await this.attempt(seeds)
    // only an answer counts: these seeds are a part of the list, not all of it
    if (outcome.kind === 'answered') this.settle({ kind: 'attempt', outcome })
    return outcome
  }

  /**
   * Passive health of an endpoint `host:port` as this sidecar sees it: while failing, the report is
   * gossiped and refreshed; recovery is gossiped once. Other nodes lower the endpoint's weight only
   * when a quorum of distinct sidecars report it failing.
   */
  reportEndpoint(endpoint: string, failing: boolean): void {
    const report = this.mesh.local(endpoint, failing)
    if (report !== undefined) this.broadcastReport(report)
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
      exchange: (req, from) => this.sync.answer(req, from),
      dropped: (reason) => this.counters.drop(reason, 'stream'),
    })
    if (this.stopping !== undefined) return
    const at = advertisedAddress(this.cfg.listen, this.cfg.advertise, this.bound)
    if (at.host === '0.0.0.0' || at.host === '::') this.log.warn({ host: at.host }, 'gossip advertises a wildcard address; set gossip.advertise')
    const me = this.selfRecord(at)
    this.table.set(me)
    this.broadcast(`m:${this.name}`, aliveClaim(me))
    this.phase = 'running'
    this.announce(undefined, me, 'started')
    this.arm()
    this.log.info({ address: formatAddress(at), encrypted: this.envelope.encrypted, cluster: this.cfg.cluster, seeds: this.cfg.seeds }, 'gossip started')
    this.joinState = { kind: 'joining', since: this.clock.now() }
    this.joinTimer = this.clock.setTimer(() => this.settle({ kind: 'timeout' }), this.cfg.joinTimeoutMs)
    if (!this.envelope.encrypted) {
      const why = 'anyone who can reach the gossip port can read membership, join, or inject claims'
      this.log.warn({ cluster: this.cfg.cluster }, `gossip is NOT encrypted or authenticated: ${why}; set gossip.key (commy keygen)`)
    }
    await this.joinRetry.start()
  }

  /** Starts the prober and the protocol's periodic loops (gossip, push-pull, reaping, health refresh). */
  private arm(): void {
    this.prober.start(this.random() * this.cfg.probeIntervalMs)
    const syncMs = (): number => pushPullIntervalMs(this.cfg.pushPullIntervalMs, this.table.live) * (0.75 + 0.5 * this.random())
    this.every('gossip', () => this.cfg.gossipIntervalMs, () => this.gossip())
    if (this.cfg.pushPullIntervalMs > 0) this.every('push-pull', syncMs, () => this.antiEntropy())
    this.every('reap', () => Math.max(1000, Math.min(this.cfg.tombstoneTimeoutMs / 4, 30_000)), () => this.reap())
    this.every('health', () => 10 * this.cfg.probeIntervalMs, () => this.refreshHealth())
  }

  /** Stops what arm() and joining started (the transport stays bound). */
  private disarm(): void {
    this.joinRetry.stop()
    this.joinTimer?.cancel()
    this.prober.stop()
    for (const loop of this.loops) loop.stop()
    this.loops = []
    this.suspicions.clear()
    this.acks.clear()
  }

  /** Arms a protocol loop: a random first phase, a fresh interval each round, a failing round counted and logged. */
  private every(loop: string, interval: () => number, run: () => void): void {
    const onError = (err: unknown): void => {
      this.counters.handlerErrors++
      this.log.error({ err, loop }, 'gossip loop failed')
    }
    const ticker = new Ticker({ clock: this.clock, interval, run, onError, phase: this.random })
    this.loops.push(ticker)
    ticker.start()
  }

  private async doStop(graceful: boolean): Promise<void> {
    await this.starting?.catch(() => {})
    if (graceful && this.phase === 'running') await this.leave()
    this.phase = 'stopped'
    this.disarm()
    this.queue.clear()
    await this.transport.close()
  }

  /** Marks ourselves left, tells live members directly and by gossip, waits briefly for it to spread. */
  private async leave(): Promise<void> {
    const me = this.table.get(this.name)!
    this.phase = 'leaving'
    this.prober.stop()
    this.table.set({ ...me, state: 'left', changedAt: this.clock.now() })
    const encoded = encodeMessage({ type: 'left', name: this.name, incarnation: me.incarnation })
    const direct = this.table.sample(this.table.live <= 65 ? 64 : 3 * this.cfg.gossipNodes, (m) => isLive(m.state))
    for (const m of direct) this.wire.send(m, [encoded], false)
    this.log.info({ incarnation: me.incarnation, told: direct.length }, 'leaving the cluster')
    await new Promise<void>((resolve) => {
      const timer = this.clock.setTimer(resolve, Math.min(1000, 5 * this.cfg.gossipIntervalMs))
      this.queue.enqueue(`m:${this.name}`, encoded, () => {
        timer.cancel()
        resolve()
      })
    })
  }

  private selfRecord(at: HostPort): Member {
    const n = this.options.node
    return { name: this.name, host: at.host, port: at.port, state: 'alive', incarnation: 0, zone: n.zone ?? '', adminAddress: n.adminAddress ?? '', meta: this.meta, changedAt: this.clock.now() }
  }

  /** A push-pull with every seed address that is not this node. */
  private attempt(seeds: readonly string[]): Promise<JoinOutcome> {
    const me = this.table.get(this.name)!
    return joinSeeds(seeds, this.resolver, selfMatcher(me, this.bound), (a) => this.sync.exchange(a, true))
  }

  /**
   * One try of the join loop; true ends the loop. It goes on while no seed has answered, also as
   * a cluster of one (a fresh cluster's first node finds its peers once they come up).
   */
  private async joinOnce(): Promise<boolean> {
    if (this.phase !== 'running') return true
    const outcome = await this.attempt(this.cfg.seeds)
    if (this.phase !== 'running') return true
    const before = this.joinState
    this.settle({ kind: 'attempt', outcome })
    if (outcome.kind === 'answered' || outcome.kind === 'no-seeds') return true
    const fields = { seeds: this.cfg.seeds, outcome: outcome.kind, state: this.joinState.kind }
    // loud while /readyz waits for it; quiet once serving as a cluster of one
    if (before.kind === 'joining' && outcome.kind === 'silent') this.log.warn(fields, 'no gossip seed answered; retrying with backoff')
    else this.log.debug(fields, 'no gossip seed answered; retrying with backoff')
    return false
  }

  /** Feeds the join state machine; a change is logged once, and the first settle emits 'joined' when it is one. */
  private settle(event: JoinEvent): void {
    const prev = this.joinState
    const next = nextJoinState(prev, event, this.clock.now())
    if (next === prev) return
    this.joinState = next
    if (next.kind !== 'joining') {
      this.joinTimer?.cancel()
      this.joinTimer = undefined
    }
    const fields = { from: prev.kind, to: next.kind, reason: describeJoinState(next), members: this.table.live }
    if (next.kind === 'alone' && (next.why === 'timeout' || next.why === 'unresolved')) {
      this.log.warn({ ...fields, seeds: this.cfg.seeds }, 'serving as a cluster of one; still trying to join the seeds')
    } else {
      this.log.info(fields, next.kind === 'joined' ? 'joined the cluster' : 'serving as a cluster of one')
    }
    if (isJoined(next) && !isJoined(prev)) this.listeners.emit('joined')
  }

  private sendPing(target: Member, seq: number): void {
    const msgs: Uint8Array[] = [encodeMessage({ type: 'ping', seq, target: target.name, source: this.name })]
    // Lifeguard's buddy system: a suspect hears of its suspicion on every probe of it
    if (target.state === 'suspect' && this.cfg.lifeguard) msgs.push(encodeMessage({ type: 'suspect', name: target.name, incarnation: target.incarnation, from: this.name }))
    this.wire.send(target, msgs)
  }

  private broadcast(key: string, m: Message): void {
    this.queue.enqueue(key, encodeMessage(m))
  }

  private onPacket(data: Buffer, from: HostPort): void {
    if (this.phase !== 'running' && this.phase !== 'leaving') return
    for (const msg of this.wire.receive(data, from) ?? []) {
      try {
        this.handle(msg, from)
      } catch (err) {
        this.counters.handlerErrors++
        this.log.warn({ err, type: msg.type }, 'gossip message handler failed')
      }
    }
  }

  private handle(msg: Message, from: HostPort): void {
    switch (msg.type) {
      case 'ping':
        if (msg.target !== this.name) {
          this.counters.misdirectedPings++
          return
        }
        this.wire.send(from, [encodeMessage({ type: 'ack', seq: msg.seq })])
        this.tellIfGone(msg.source, from)
        return
      case 'ping-req':
        return relayPingReq(msg, from, {
          self: this.name,
          clock: this.clock,
          acks: this.acks,
          probeTimeoutMs: this.cfg.probeTimeoutMs,
          probeIntervalMs: this.cfg.probeIntervalMs,
          send: (to, messages) => this.wire.send(to, messages),
        })
      case 'ack':
        this.acks.ack(msg.seq)
        return
      case 'nack':
        this.acks.nack(msg.seq)
        return
      case 'health':
        return this.receiveReport(msg)
      case 'alive':
      case 'suspect':
      case 'dead':
      case 'left':
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
    this.wire.send(from, [encodeMessage(claim)], false)
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
        if (this.suspicions.confirm(claim.name, verdict.from)) this.broadcast(`m:${claim.name}`, claim)
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
    } else this.suspicions.cancel(name)
    if (!isLive(next.state)) {
      this.mesh.forget(name)
      if (next.state === 'dead' && prev?.state !== 'dead') this.counters.deaths++
    }
    this.broadcast(`m:${name}`, claim)
    this.announce(prev, next, reason)
  }

  private suspect(m: Member, from: string): void {
    this.counters.suspicions++
    const inc = m.incarnation
    this.suspicions.start(m.name, from, suspicionTimeouts(this.table.live, this.cfg), (confirmations) => {
      const cur = this.table.get(m.name)
      if (cur?.state !== 'suspect' || cur.incarnation !== inc) return
      this.log.info({ member: m.name, confirmations, timeoutMs: Math.round(this.clock.now() - cur.changedAt) }, 'suspicion timed out')
      this.apply({ type: 'dead', name: m.name, incarnation: inc, from: this.name })
    })
    // Lifeguard: tell the suspect at once so it can refute
    if (from === this.name && this.cfg.lifeguard) this.wire.send(m, [encodeMessage({ type: 'suspect', name: m.name, incarnation: inc, from: this.name })])
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
      if (accuser !== undefined && isLive(accuser.state)) this.wire.send(accuser, [encodeMessage(aliveClaim(next))])
    }
  }

  private commitSelf(next: Member, reason: string): void {
    const prev = this.table.set(next)
    this.broadcast(`m:${this.name}`, aliveClaim(next))
    this.announce(prev, next, reason)
  }

  /** Logs a state transition once at info and tells the listeners. */
  private announce(prev: Member | undefined, next: Member, reason: string): void {
    if (prev === undefined || prev.state !== next.state) {
      this.log.info({ member: next.name, from: prev?.state ?? 'unknown', to: next.state, incarnation: next.incarnation, reason }, 'member state changed')
      if (this.listeners.wants('change')) this.listeners.emit('change', toInfo(next, this.name), prev && toInfo(prev, this.name))
    } else if (this.listeners.wants('update')) {
      this.listeners.emit('update', toInfo(next, this.name), toInfo(prev, this.name))
    }
  }

  private gossip(): void {
    if (this.queue.size === 0) return
    const now = this.clock.now()
    const deadWindow = 15 * this.cfg.probeIntervalMs
    const targets = this.table.sample(this.cfg.gossipNodes, (m) => isLive(m.state) || (m.state === 'dead' && now - m.changedAt < deadWindow))
    for (const t of targets) {
      if (this.queue.size === 0) break
      this.wire.send(t, [])
    }
  }

  private antiEntropy(): void {
    const peer = this.table.sample(1, (m) => isLive(m.state))[0]
    if (peer !== undefined) void this.sync.exchange(peer, false)
    // reconnect: a member we hold dead may be alive behind a healed partition
    const lost = this.table.sample(1, (m) => m.state === 'dead')[0]
    if (lost !== undefined) void this.sync.exchange(lost, false)
    // alone (everyone else gone or never joined): go back to the seeds
    if (peer === undefined && this.cfg.seeds.length > 0 && !this.joinRetry.active) void this.joinRetry.start()
  }

  private reap(): void {
    for (const m of this.table.reap(this.clock.now() - this.cfg.tombstoneTimeoutMs)) {
      this.told.delete(m.name)
      this.log.debug({ member: m.name, state: m.state }, 'tombstone reaped')
      this.listeners.emit('forget', m.name)
    }
  }

  private refreshHealth(): void {
    this.mesh.expire()
    for (const r of this.mesh.refreshLocal()) this.broadcastReport(r)
  }

  private broadcastReport(r: HealthReport): void {
    this.broadcast(`h:${r.reporter}|${r.endpoint}`, r)
  }

  private receiveReport(r: HealthReport): void {
    const reporter = this.table.get(r.reporter)
    if (this.mesh.accept(r, reporter !== undefined && !isLive(reporter.state))) this.broadcastReport(r)
  }

  private localState(join: boolean): PushPull {
    return { join, from: this.name, members: [...this.table.values()], health: this.mesh.reports() }
  }

  private merge(remote: PushPull): void {
    for (const claim of remoteClaims(remote)) this.apply(claim)
    for (const r of remote.health) this.receiveReport(r)
  }
}
