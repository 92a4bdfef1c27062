/**
 * The alert evaluator: every `intervalMs` (default 5 s, on the injected clock) each rule of the
 * config looks at its service (or every service) through RULE_CHECKS, and each observation moves
 * its alert through the state machine of alert-state.ts. An alert fires once and resolves once:
 * firing is logged at warn (severity warning) or error (critical), resolving at info; both are
 * kept in the bounded recent list (`keep`, newest first; a resolved alert replaces its firing
 * entry) and handed to `notify` (the webhooks), which must return at once.
 * A subject that disappears (endpoint removed, service gone) counts as "condition off".
 */
import type { Logger } from 'pino'
import type { Clock } from '../clock.js'
import type { AlertKind, AlertRuleConfig, AlertsConfig } from '../config/types.js'
import type { Startable } from '../lifecycle.js'
import { Ticker } from '../ticker.js'
import { OK, stepAlert, type AlertPhase } from './alert-state.js'
import { NODE_RULES, RULE_CHECKS, timingOf, type AlertService, type ExpiringCertificate, type Observation, type WindowSource } from './alert-rules.js'

export type { AlertService, WindowSource } from './alert-rules.js'

/** What the evaluator reads: the services and their endpoints, now. */
export interface AlertTargets {
  services(): Iterable<AlertService>
}

/** The alert as logged, listed and POSTed. Times are wall ms. */
export interface Alert {
  /** Rule name. */
  readonly name: string
  readonly rule: AlertKind
  readonly service: string
  readonly endpoint?: string
  readonly state: 'firing' | 'resolved'
  readonly severity: 'warning' | 'critical'
  readonly value: number
  readonly threshold: number
  readonly startedAt: number
  readonly resolvedAt?: number
  readonly node: string
  readonly summary: string
}

export interface AlertEvaluatorOptions {
  readonly config: AlertsConfig
  /** This sidecar's node name (in every alert). */
  readonly node: string
  readonly targets: AlertTargets
  /** Windowed request numbers (the History); without it error-rate and p99 rules see nothing. */
  readonly history?: WindowSource
  readonly clock: Clock
  readonly logger: Logger
  /** The mesh certificates loaded now (cert-expiring); default none. */
  readonly certificates?: () => readonly ExpiringCertificate[]
  /** Told about every fired and resolved alert; must not block (WebhookNotifier.notify). */
  readonly notify?: (alert: Alert) => void
  readonly intervalMs?: number
}

interface Tracked {
  rule: AlertRuleConfig
  phase: AlertPhase
  /** The firing alert of this episode. */
  alert: Alert | undefined
  last: Observation
  seen: boolean
}

export class AlertEvaluator implements Startable {
  private readonly o: AlertEvaluatorOptions
  private readonly ticker: Ticker
  private config: AlertsConfig
  private readonly tracked = new Map<string, Tracked>()
  private list: Alert[] = []

  constructor(options: AlertEvaluatorOptions) {
    this.o = options
    this.config = options.config
    this.ticker = new Ticker({
      clock: options.clock,
      interval: options.intervalMs ?? 5_000,
      run: () => this.evaluate(),
      onError: (err) => options.logger.error({ err }, 'alert evaluation failed'),
    })
  }

  /**
   * New rules (config reload). An alert whose rule is still there (same name and kind) carries on
   * under the new settings; one whose rule is gone resolves now (summary: "rule removed").
   */
  reconfigure(config: AlertsConfig): void {
    const prev = this.tracked
    const rules = config.rules
    this.config = config
    const kept = new Map<string, Tracked>()
    for (const [key, t] of prev) {
      const same = (r: AlertRuleConfig | undefined) => r !== undefined && r.name === t.rule.name && r.when === t.rule.when
      const at = Number(key.slice(0, key.indexOf('\0')))
      const i = same(rules[at]) ? at : rules.findIndex(same)
      if (i < 0) {
        if (t.phase.kind === 'firing') this.resolve(t, { ...t.last, summary: 'rule removed from the config' })
        continue
      }
      t.rule = rules[i]!
      kept.set(`${i}${key.slice(key.indexOf('\0'))}`, t)
    }
    this.tracked.clear()
    for (const [k, t] of kept) this.tracked.set(k, t)
    if (this.list.length > config.keep) this.list = this.list.slice(0, config.keep)
  }

  start(): void {
    this.ticker.start()
  }

  stop(): void {
    this.ticker.stop()
  }

  /** Recent alerts, newest first (at most `keep`). */
  recent(): readonly Alert[] {
    return this.list
  }

  /** Alerts firing now. */
  firing(): Alert[] {
    const out: Alert[] = []
    for (const t of this.tracked.values()) if (t.phase.kind === 'firing' && t.alert) out.push(t.alert)
    return out
  }

  /** One evaluation of every rule (the timer calls this; tests may too). */
  evaluate(): void {
    const now = this.o.clock.now()
    const ctx = { now, wallNow: this.o.clock.wallNow(), history: this.o.history, certificates: this.o.certificates?.() ?? [] }
    for (const t of this.tracked.values()) t.seen = false
    const services = [...this.o.targets.services()]
    const thisNode: AlertService = { name: this.o.node, endpoints: [] }
    for (const rule of this.config.rules) {
      const check = RULE_CHECKS[rule.when]
      const node = NODE_RULES.has(rule.when)
      for (const svc of node ? [thisNode] : services) {
        if (!node && rule.service !== undefined && rule.service !== svc.name) continue
        let observations: Observation[]
        try {
          observations = check(rule, svc, ctx)
        } catch (err) {
          this.o.logger.error({ err, rule: rule.name, service: svc.name }, 'alert rule failed')
          continue
        }
        for (const obs of observations) if (!node || rule.service === undefined || rule.service === obs.service) this.observe(rule, obs, now)
      }
    }
    for (const [key, t] of this.tracked) {
      if (t.seen) continue
      this.advance(t.rule, t, { ...t.last, signal: 'off' }, now)
      if (t.phase.kind === 'ok') this.tracked.delete(key)
    }
  }

  private observe(rule: AlertRuleConfig, obs: Observation, now: number): void {
    const key = `${this.config.rules.indexOf(rule)}\0${obs.service}\0${obs.endpoint ?? ''}`
    let t = this.tracked.get(key)
    if (!t) {
      if (obs.signal === 'off') return
      this.tracked.set(key, (t = { rule, phase: OK, alert: undefined, last: obs, seen: true }))
    }
    t.seen = true
    this.advance(rule, t, obs, now)
    if (t.phase.kind === 'ok') this.tracked.delete(key)
  }

  private advance(rule: AlertRuleConfig, t: Tracked, obs: Observation, now: number): void {
    t.last = obs
    const step = stepAlert(t.phase, obs.signal, now, timingOf(rule))
    t.phase = step.phase
    if (step.event === 'fire') {
      const alert: Alert = Object.freeze({
        name: rule.name,
        rule: rule.when,
        service: obs.service,
        ...(obs.endpoint !== undefined ? { endpoint: obs.endpoint } : {}),
        state: 'firing' as const,
        severity: rule.severity,
        value: obs.value,
        threshold: obs.threshold,
        startedAt: this.o.clock.wallNow(),
        node: this.o.node,
        summary: obs.summary,
      })
      t.alert = alert
      this.list = [alert, ...this.list].slice(0, this.config.keep)
      const log = rule.severity === 'critical' ? this.o.logger.error.bind(this.o.logger) : this.o.logger.warn.bind(this.o.logger)
      log({ alert }, `alert firing: ${rule.name} (${obs.service}): ${obs.summary}`)
      this.publish(alert)
    } else if (step.event === 'resolve') this.resolve(t, obs)
  }

  private resolve(t: Tracked, obs: Observation): void {
    const firing = t.alert
    if (!firing) return
    const resolved: Alert = Object.freeze({ ...firing, state: 'resolved' as const, value: obs.value, resolvedAt: this.o.clock.wallNow(), summary: obs.summary })
    t.alert = undefined
    t.phase = OK
    const i = this.list.indexOf(firing)
    this.list = i >= 0 ? this.list.map((a) => (a === firing ? resolved : a)) : [resolved, ...this.list].slice(0, this.config.keep)
    this.o.logger.info({ alert: resolved }, `alert resolved: ${t.rule.name} (${obs.service}): ${obs.summary}`)
    this.publish(resolved)
  }

  private publish(alert: Alert): void {
    try {
      this.o.notify?.(alert)
    } catch (err) {
      this.o.logger.error({ err }, 'alert notification failed')
    }
  }
}
