/**
 * Active health checking, one session per endpoint (Envoy style). Implements HealthSource.
 *
 * - The first check of each endpoint runs at a random point of its first interval (no thundering
 *   herd on start); after that, the next check is scheduled when the previous one ended (a slow
 *   check never overlaps the next) after `interval ± jitter%`.
 * - Results go through the pure state machine of health-state.ts; on a transition the monitor
 *   writes `ep.activeHealth`/`activeReason`, calls `changed()` (ServiceEndpoints.refresh), emits
 *   a `transition` event and logs it once at info. Every result is emitted as `checked`.
 * - Endpoints announced only by gossip are checked when the service's `healthCheck.remote` is on;
 *   otherwise their health is what the announcing node reports. Mesh endpoints (`mtls`: a node's
 *   mTLS inbound) are never checked from here: a plaintext check cannot reach them, and an mTLS
 *   one would test the peer's authorization of this node rather than the service; their own node
 *   checks them and gossips the result (as Linkerd and Consul Connect do).
 * - The config is read at every check (`configFor`), so a reload takes effect at the next check;
 *   call `reconfigure()` after a reload to start sessions that had no check before.
 * - `stop()` cancels every timer and in-flight check and closes the HTTP connections.
 */
import type { Logger } from 'pino'
import { Agent, type Dispatcher } from 'undici'
import type { Clock, Random, Timer } from '../clock.js'
import { EventHub } from '../listeners.js'
import type { HealthCheckConfig, ServiceConfig } from '../config/types.js'
import type { ActiveHealth, Endpoint } from '../endpoint/endpoint.js'
import { createHealthCheck } from './check-factory.js'
import { runCheck, type HealthCheck } from './check.js'
import type { HealthSource } from './health-source.js'
import { INITIAL_COUNTS, nextHealth, type HealthCounts } from './health-state.js'

export interface HealthTransition {
  readonly endpoint: Endpoint
  readonly from: ActiveHealth
  readonly to: ActiveHealth
  /** The result that caused it, e.g. `HTTP 500 from /health`, `connect ECONNREFUSED`. */
  readonly reason: string
  /** Clock ms. */
  readonly at: number
}

export interface CheckOutcome {
  readonly endpoint: Endpoint
  readonly ok: boolean
  readonly reason: string
  readonly durationMs: number
  /** Clock ms when the check ended. */
  readonly at: number
}

export interface MonitorListener {
  transition?(t: HealthTransition): void
  checked?(c: CheckOutcome): void
}

export interface ActiveMonitorOptions {
  /** The check that applies to an endpoint now; undefined = not actively checked. */
  readonly configFor: (ep: Endpoint) => HealthCheckConfig | undefined
  readonly clock: Clock
  readonly random: Random
  readonly logger?: Logger
  /** Builds the check for a config (default: http/tcp with a keep-alive pool owned by the monitor). */
  readonly checkFor?: (config: HealthCheckConfig) => HealthCheck
}

/** `configFor` for the services of a config: the service's `healthCheck`. */
export function serviceHealthChecks(services: () => Readonly<Record<string, ServiceConfig>>): (ep: Endpoint) => HealthCheckConfig | undefined {
  return (ep) => services()[ep.service]?.healthCheck
}

interface Session {
  readonly ep: Endpoint
  changed: () => void
  counts: HealthCounts
  timer: Timer | undefined
  inFlight: AbortController | undefined
  /** Unwatched or monitor stopped: results are dropped. */
  dead: boolean
}

export class ActiveMonitor implements HealthSource {
  private readonly options: ActiveMonitorOptions
  private readonly sessions = new Map<Endpoint, Session>()
  private readonly checks = new WeakMap<HealthCheckConfig, HealthCheck>()
  private readonly listeners: EventHub<MonitorListener>
  private agent: Agent | undefined
  /** HTTP checks of `protocol: http2` services: h2c with prior knowledge. */
  private h2Agent: Agent | undefined
  private state: 'new' | 'running' | 'stopped' = 'new'
  private stopping: Promise<void> | undefined

  constructor(options: ActiveMonitorOptions) {
    this.options = options
    this.listeners = new EventHub<MonitorListener>((err, event) => options.logger?.error({ err }, `health ${event === 'checked' ? 'check' : 'transition'} listener failed`))
  }

  on(listener: MonitorListener): () => void {
    return this.listeners.on(listener)
  }

  start(): void {
    if (this.state !== 'new') return
    this.state = 'running'
    for (const s of this.sessions.values()) this.arm(s, true)
  }

  stop(): Promise<void> {
    if (this.stopping) return this.stopping
    this.state = 'stopped'
    for (const s of this.sessions.values()) this.kill(s)
    this.sessions.clear()
    const agents = [this.agent, this.h2Agent].filter((a) => a !== undefined)
    this.agent = this.h2Agent = undefined
    this.stopping = Promise.all(agents.map((a) => a.destroy().catch(() => {}))).then(() => undefined)
    return this.stopping
  }

  watch(ep: Endpoint, changed: () => void): void {
    if (this.state === 'stopped') return
    const known = this.sessions.get(ep)
    if (known) {
      known.changed = changed
      return
    }
    const s: Session = { ep, changed, counts: INITIAL_COUNTS, timer: undefined, inFlight: undefined, dead: false }
    this.sessions.set(ep, s)
    if (this.state === 'running') this.arm(s, true)
  }

  unwatch(ep: Endpoint): void {
    const s = this.sessions.get(ep)
    if (!s) return
    this.kill(s)
    this.sessions.delete(ep)
  }

  /** After a config reload: sessions that were idle (no check configured) start, staggered. */
  reconfigure(): void {
    if (this.state !== 'running') return
    for (const s of this.sessions.values()) if (s.timer === undefined && s.inFlight === undefined) this.arm(s, true)
  }

  /** Endpoints being watched (for tests and the admin view). */
  watched(): number {
    return this.sessions.size
  }

  private configOf(ep: Endpoint): HealthCheckConfig | undefined {
    const cfg = this.options.configFor(ep)
    if (cfg === undefined || ep.mtls || (ep.source === 'gossip' && !cfg.remote)) return undefined
    return cfg
  }

  private arm(s: Session, first: boolean): void {
    const cfg = this.configOf(s.ep)
    if (cfg === undefined) return this.idle(s)
    const r = this.options.random()
    const delay = first ? r * cfg.intervalMs : cfg.intervalMs * (1 + (cfg.jitter / 100) * (2 * r - 1))
    s.timer = this.options.clock.setTimer(() => void this.run(s), Math.max(0, delay))
  }

  /** No check applies (any more): forget what this monitor concluded. */
  private idle(s: Session): void {
    if (s.counts.health !== 'unknown') {
      const from = s.counts.health
      s.counts = INITIAL_COUNTS
      s.ep.activeHealth = 'unknown'
      s.ep.activeReason = ''
      this.transition(s, from, 'unknown', 'health check no longer configured')
    }
  }

  private async run(s: Session): Promise<void> {
    s.timer = undefined
    const cfg = this.configOf(s.ep)
    if (s.dead) return
    if (cfg === undefined) return this.idle(s)
    const clock = this.options.clock
    const ac = new AbortController()
    s.inFlight = ac
    const t0 = clock.now()
    const result = await runCheck(this.checkFor(cfg), s.ep, cfg.timeoutMs, clock, ac.signal)
    if (s.dead) return
    s.inFlight = undefined
    // commy out of descriptors: the probe says nothing about the endpoint; try again next interval
    if (result.inconclusive) return this.arm(s, false)
    const at = clock.now()
    const from = s.counts.health
    s.counts = nextHealth(s.counts, result.ok, cfg)
    const to = s.counts.health
    if (to === 'unhealthy') s.ep.activeReason = result.reason
    this.emitChecked({ endpoint: s.ep, ok: result.ok, reason: result.reason, durationMs: at - t0, at })
    if (from !== to) {
      s.ep.activeHealth = to
      if (to !== 'unhealthy') s.ep.activeReason = ''
      this.transition(s, from, to, result.reason)
    }
    if (!s.dead) this.arm(s, false)
  }

  private transition(s: Session, from: ActiveHealth, to: ActiveHealth, reason: string): void {
    const t: HealthTransition = { endpoint: s.ep, from, to, reason, at: this.options.clock.now() }
    this.options.logger?.info({ endpoint: s.ep.id, from, to, reason }, 'active health changed')
    try {
      s.changed()
    } catch (err) {
      this.options.logger?.error({ err, endpoint: s.ep.id }, 'health change callback failed')
    }
    this.listeners.emit('transition', t)
  }

  private emitChecked(c: CheckOutcome): void {
    this.listeners.emit('checked', c)
  }

  private kill(s: Session): void {
    s.dead = true
    s.timer?.cancel()
    s.timer = undefined
    s.inFlight?.abort()
    s.inFlight = undefined
  }

  private checkFor(cfg: HealthCheckConfig): HealthCheck {
    let c = this.checks.get(cfg)
    if (!c) {
      c = this.options.checkFor ? this.options.checkFor(cfg) : createHealthCheck(cfg, { dispatcher: cfg.http2 === true ? this.h2Dispatcher() : this.dispatcher() })
      this.checks.set(cfg, c)
    }
    return c
  }

  private dispatcher(): Dispatcher {
    // keep-alive between checks of one endpoint; undici honours the server's Keep-Alive hint
    this.agent ??= new Agent({ keepAliveTimeout: 10_000, keepAliveMaxTimeout: 60_000 })
    return this.agent
  }

  private h2Dispatcher(): Dispatcher {
    // undici's h2c: `allowH2` on the client, `useH2c` to its connector (a check has no body, so it multiplexes)
    this.h2Agent ??= new Agent({ keepAliveTimeout: 10_000, keepAliveMaxTimeout: 60_000, allowH2: true, connect: { useH2c: true } as never })
    return this.h2Agent
  }
}
