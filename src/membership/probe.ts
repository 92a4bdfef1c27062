/**
 * SWIM failure detection, one probe per protocol period: ping the next member of the randomised
 * round robin; without an ack within probeTimeout, ask k other members to ping it (ping-req,
 * with Lifeguard's nack request); without any ack by the end of the (health-scaled) period,
 * report it failed so it becomes suspect. With Lifeguard, local health is fed here: a prompt ack
 * lowers the score, a failed probe raises it by the nacks that did not come (or by 1 without
 * helpers), and a period that starts or ends late (our own event loop stalled) raises it and
 * blames no one. Without Lifeguard none of this happens (classic SWIM).
 */
import type { Clock, Timer } from '../clock.js'
import type { LocalHealth } from './awareness.js'
import { encodeMessage, type PingReq } from './codec.js'
import type { Member } from './member.js'
import type { HostPort } from './transport.js'

interface Waiter {
  ack(): void
  nack(): void
  expiry: Timer | undefined
}

/** Sequence numbers of pings in flight and who waits for their ack or nack. */
export class AckTable {
  private seq = 0
  private readonly waiters = new Map<number, Waiter>()

  constructor(private readonly clock: Clock) {}

  nextSeq(): number {
    this.seq = (this.seq + 1) >>> 0
    return this.seq
  }

  /** Waits for `seq`; forgotten automatically after `ttlMs` if given. */
  expect(seq: number, handlers: { ack: () => void; nack?: () => void }, ttlMs?: number): void {
    const w: Waiter = { ack: handlers.ack, nack: handlers.nack ?? (() => {}), expiry: undefined }
    if (ttlMs !== undefined) w.expiry = this.clock.setTimer(() => this.waiters.delete(seq), ttlMs)
    this.waiters.set(seq, w)
  }

  forget(seq: number): void {
    const w = this.waiters.get(seq)
    if (w === undefined) return
    w.expiry?.cancel()
    this.waiters.delete(seq)
  }

  ack(seq: number): boolean {
    const w = this.waiters.get(seq)
    if (w === undefined) return false
    w.ack()
    return true
  }

  nack(seq: number): boolean {
    const w = this.waiters.get(seq)
    if (w === undefined) return false
    w.nack()
    return true
  }

  clear(): void {
    for (const w of this.waiters.values()) w.expiry?.cancel()
    this.waiters.clear()
  }
}

export interface ProberSettings {
  readonly probeIntervalMs: number
  readonly probeTimeoutMs: number
  readonly indirectChecks: number
  readonly lifeguard: boolean
}

/** What a probe needs from the membership (no back-reference to it). */
export interface ProbeHooks {
  next(): Member | undefined
  helpers(target: Member, k: number): Member[]
  ping(target: Member, seq: number): void
  pingReq(helper: Member, target: Member, seq: number, nack: boolean): void
  /** No ack came: the target becomes suspect. */
  failed(target: Member): void
  /** Event-loop delay (ms) measured outside, 0 if unknown. */
  loopDelay(): number
}

export class Prober {
  private timer: Timer | undefined
  private readonly inFlight = new Set<Timer>()
  private running = false

  constructor(
    private readonly clock: Clock,
    private readonly settings: ProberSettings,
    private readonly health: LocalHealth,
    private readonly acks: AckTable,
    private readonly hooks: ProbeHooks,
  ) {}

  /** `firstDelayMs`: give each node a random phase so nodes started together do not probe in lockstep. */
  start(firstDelayMs = this.settings.probeIntervalMs): void {
    if (this.running) return
    this.running = true
    this.schedule(this.clock.now() + firstDelayMs)
  }

  stop(): void {
    this.running = false
    this.timer?.cancel()
    this.timer = undefined
    for (const t of this.inFlight) t.cancel()
    this.inFlight.clear()
  }

  private schedule(at: number): void {
    this.timer = this.clock.setTimer(() => this.tick(at), Math.max(0, at - this.clock.now()))
  }

  private tick(expectedAt: number): void {
    this.timer = undefined
    if (!this.running) return
    const now = this.clock.now()
    const lagging = this.settings.lifeguard && (now - expectedAt > this.settings.probeTimeoutMs || this.hooks.loopDelay() > this.settings.probeTimeoutMs)
    if (lagging) this.health.apply(1)
    const interval = this.health.scale(this.settings.probeIntervalMs)
    const target = this.hooks.next()
    if (target !== undefined) this.probe(target, interval, lagging)
    this.schedule(now + interval)
  }

  private probe(target: Member, interval: number, lagging: boolean): void {
    const { clock, acks, settings } = this
    const seq = acks.nextSeq()
    const started = clock.now()
    let acked = false
    let nacks = 0
    let expectedNacks = 0
    const track = (t: Timer): Timer => {
      this.inFlight.add(t)
      return t
    }
    const indirect = track(
      clock.setTimer(() => {
        this.inFlight.delete(indirect)
        if (acked || !this.running) return
        const helpers = this.hooks.helpers(target, settings.indirectChecks)
        expectedNacks = settings.lifeguard ? helpers.length : 0
        for (const h of helpers) this.hooks.pingReq(h, target, seq, settings.lifeguard)
      }, settings.probeTimeoutMs),
    )
    const deadline = track(
      clock.setTimer(() => {
        this.inFlight.delete(deadline)
        acks.forget(seq)
        if (acked || !this.running) return
        if (settings.lifeguard && clock.now() - (started + interval) > settings.probeTimeoutMs) {
          // the deadline itself fired late: we were stalled, the silence may be ours
          this.health.apply(1)
          return
        }
        this.health.apply(expectedNacks > 0 ? Math.max(0, expectedNacks - nacks) : 1)
        this.hooks.failed(target)
      }, interval),
    )
    acks.expect(seq, {
      ack: () => {
        if (acked) return
        acked = true
        if (clock.now() - started <= settings.probeTimeoutMs && !lagging) this.health.apply(-1)
        indirect.cancel()
        deadline.cancel()
        this.inFlight.delete(indirect)
        this.inFlight.delete(deadline)
        acks.forget(seq)
      },
      nack: () => {
        nacks++
      },
    })
    this.hooks.ping(target, seq)
  }
}

export interface RelayDeps {
  readonly self: string
  readonly clock: Clock
  readonly acks: AckTable
  readonly probeTimeoutMs: number
  readonly probeIntervalMs: number
  send(to: HostPort, messages: Uint8Array[]): void
}

/**
 * Helping with someone's indirect probe: ping the target with our own sequence number, forward
 * its ack to the asker under the asker's, and (Lifeguard) send a nack if no ack came within 80 %
 * of the probe timeout, so the asker can tell "the target is silent" from "I am not heard".
 */
export function relayPingReq(req: PingReq, from: HostPort, d: RelayDeps): void {
  const seq = d.acks.nextSeq()
  let done = false
  const nackTimer = req.nack
    ? d.clock.setTimer(() => {
        if (done) return
        done = true
        d.acks.forget(seq)
        d.send(from, [encodeMessage({ type: 'nack', seq: req.seq })])
      }, 0.8 * d.probeTimeoutMs)
    : undefined
  d.acks.expect(
    seq,
    {
      ack: () => {
        if (done) return
        done = true
        nackTimer?.cancel()
        d.acks.forget(seq)
        d.send(from, [encodeMessage({ type: 'ack', seq: req.seq })])
      },
    },
    2 * d.probeIntervalMs,
  )
  d.send({ host: req.host, port: req.port }, [encodeMessage({ type: 'ping', seq, target: req.target, source: d.self })])
}
