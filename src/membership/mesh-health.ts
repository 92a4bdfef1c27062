/**
 * Passive health shared over gossip, with a quorum. A sidecar whose own traffic to an endpoint
 * fails gossips "endpoint X failing (from me)"; every node counts the distinct live reporters of
 * each endpoint, and once at least `quorum` (never less than 2) report it, the endpoint's weight
 * factor drops: 0.5 at the quorum, halving with each further reporter, never under 0.05. One
 * sidecar alone never lowers an endpoint mesh-wide. Reports expire `ttlMs` after they arrive
 * unless the reporter refreshes them; a reporter that dies or leaves has its reports dropped.
 */
import type { HealthReport } from './codec.js'

interface Entry {
  readonly report: HealthReport
  readonly at: number
}

export interface MeshHealthOptions {
  /** This node's name (the reporter of its own reports). */
  readonly self: string
  readonly quorum: number
  readonly ttlMs: number
  readonly now: () => number
  /** Wall-clock ms: the version of this node's reports. */
  readonly wallNow: () => number
  /** A factor changed (1 = no quorum of failure reports). */
  readonly onChange?: (endpoint: string, factor: number) => void
}

export const MIN_MESH_FACTOR = 0.05

export function meshFactor(failing: number, quorum: number): number {
  const q = Math.max(2, quorum)
  if (failing < q) return 1
  return Math.max(MIN_MESH_FACTOR, 0.5 ** (failing - q + 1))
}

export class MeshHealth {
  private readonly byEndpoint = new Map<string, Map<string, Entry>>()
  private readonly factors = new Map<string, number>()
  /** This node's own reports that still say failing (re-issued until they recover). */
  private readonly own = new Map<string, HealthReport>()

  constructor(private readonly options: MeshHealthOptions) {}

  /** This node's own verdict on an endpoint: the report to gossip, or undefined when nothing changed. */
  local(endpoint: string, failing: boolean): HealthReport | undefined {
    const held = this.own.get(endpoint)
    if (failing === (held !== undefined)) return undefined
    const report = this.issue(endpoint, failing, held?.version ?? this.byEndpoint.get(endpoint)?.get(this.options.self)?.report.version ?? 0)
    if (failing) this.own.set(endpoint, report)
    else this.own.delete(endpoint)
    return report
  }

  /** Own failing reports re-issued with a newer version (so they do not expire elsewhere). */
  refreshLocal(): HealthReport[] {
    const out: HealthReport[] = []
    for (const [endpoint, held] of this.own) {
      const report = this.issue(endpoint, true, held.version)
      this.own.set(endpoint, report)
      out.push(report)
    }
    return out
  }

  private issue(endpoint: string, failing: boolean, after: number): HealthReport {
    const report: HealthReport = { type: 'health', reporter: this.options.self, endpoint, failing, version: Math.max(this.options.wallNow(), after + 1) }
    this.record(report)
    return report
  }

  /** A report heard from another node: ignored if it is our own or its reporter is gone; true when new (gossip it on). */
  accept(report: HealthReport, reporterGone: boolean): boolean {
    if (report.reporter === this.options.self || reporterGone) return false
    return this.record(report)
  }

  /** Stores a report if newer than the one held from that reporter; true when it was. */
  record(report: HealthReport): boolean {
    let reporters = this.byEndpoint.get(report.endpoint)
    const held = reporters?.get(report.reporter)
    if (held !== undefined && held.report.version >= report.version) return false
    if (reporters === undefined) {
      reporters = new Map()
      this.byEndpoint.set(report.endpoint, reporters)
    }
    reporters.set(report.reporter, { report, at: this.options.now() })
    this.recompute(report.endpoint)
    return true
  }

  /** Weight factor in (0, 1] for an endpoint address `host:port`. */
  factor(endpoint: string): number {
    return this.factors.get(endpoint) ?? 1
  }

  /** Distinct reporters currently saying the endpoint fails. */
  failingReporters(endpoint: string): string[] {
    const out: string[] = []
    for (const [name, e] of this.byEndpoint.get(endpoint) ?? []) if (e.report.failing) out.push(name)
    return out
  }

  /** Drops every report of a reporter (it died or left). */
  forget(reporter: string): void {
    for (const [endpoint, reporters] of this.byEndpoint) {
      if (reporters.delete(reporter)) this.recompute(endpoint)
    }
  }

  /** Drops reports older than the ttl. */
  expire(): void {
    const cutoff = this.options.now() - this.options.ttlMs
    for (const [endpoint, reporters] of this.byEndpoint) {
      let changed = false
      for (const [name, e] of reporters) {
        if (e.at < cutoff) {
          reporters.delete(name)
          changed = true
        }
      }
      if (changed) this.recompute(endpoint)
    }
  }

  /** Every report held (push-pull carries them). */
  reports(): HealthReport[] {
    const out: HealthReport[] = []
    for (const reporters of this.byEndpoint.values()) for (const e of reporters.values()) out.push(e.report)
    return out
  }

  private recompute(endpoint: string): void {
    const reporters = this.byEndpoint.get(endpoint)
    let failing = 0
    if (reporters !== undefined) for (const e of reporters.values()) if (e.report.failing) failing++
    if (reporters !== undefined && reporters.size === 0) this.byEndpoint.delete(endpoint)
    const next = meshFactor(failing, this.options.quorum)
    const prev = this.factors.get(endpoint) ?? 1
    if (next === 1) this.factors.delete(endpoint)
    else this.factors.set(endpoint, next)
    if (next !== prev) this.options.onChange?.(endpoint, next)
  }
}
