/**
 * A fake sidecar for admin tests: real ServiceEndpoints / Endpoint objects for two services
 * (so views are built by the real `endpointView`), scripted members, history, alerts, and
 * recorded reload/drain calls. Tests change endpoints directly (`ep.breaker = breakerIn('open')`).
 */
import { ServiceEndpoints } from '../../src/endpoint/service-endpoints.js'
import type { BreakerKind, Endpoint } from '../../src/endpoint/endpoint.js'
import { endpointView, serviceView } from '../../src/admin/views.js'
import type {
  AdminActions,
  AdminSource,
  AlertView,
  EndpointView,
  HistoryBucketView,
  HistoryView,
  MaintenanceResult,
  MemberView,
  NodeView,
  Readiness,
  ReloadResult,
  ServiceView,
  TransitionView,
} from '../../src/admin/view.js'
import type { MaintenanceTarget } from '../../src/endpoint/maintenance.js'
import { breakerIn } from './breaker.js'

export interface FakeOptions {
  /** Wall ms "now" for history; default Date.now(). */
  readonly wallNow?: () => number
  readonly bucketMs?: number
}

export class FakeSidecar implements AdminSource, AdminActions {
  readonly services_ = new Map<string, { strategy: string; set: ServiceEndpoints }>()
  nodeView: NodeView
  ready: Readiness = { ready: true }
  membersList: MemberView[]
  alertsList: AlertView[] = []
  configValue: unknown = { node: { name: 'node-a' }, admin: { token: '[redacted]' } }
  reloadResults: ReloadResult[] = []
  reloadCalls = 0
  drainCalls = 0
  undrainCalls = 0
  drainDelayMs = 0
  transitions = new Map<string, TransitionView[]>()
  private readonly wallNow: () => number
  private readonly bucketMs: number
  historyCalls: { id: string; sinceMs: number | undefined }[] = []

  constructor(options: FakeOptions = {}) {
    this.wallNow = options.wallNow ?? (() => Date.now())
    this.bucketMs = options.bucketMs ?? 10_000
    this.nodeView = {
      name: 'node-a',
      zone: 'eu-1a',
      version: '0.1.0',
      configVersion: 'c0ffee12',
      startedAt: this.wallNow() - 3_723_000,
      draining: false,
    }
    this.membersList = [
      { name: 'node-a', address: '127.0.0.1:7946', state: 'alive', incarnation: 3, zone: 'eu-1a', services: ['payments'], self: true },
      { name: 'node-b', address: '127.0.0.2:7946', state: 'alive', incarnation: 1, zone: 'eu-1b', services: ['payments', 'search'], self: false },
      { name: 'node-c', address: '127.0.0.3:7946', state: 'suspect', incarnation: 7, zone: 'eu-1b', services: ['search'], self: false },
    ]
    this.addService('payments', 'latency', [
      { host: '10.0.0.1', port: 8080, zone: 'eu-1a', tags: ['v2'] },
      { host: '10.0.0.2', port: 8080, zone: 'eu-1b', tags: ['v2'] },
      { host: '10.0.0.3', port: 8080, zone: 'eu-1b', tags: ['canary'] },
    ])
    this.addService('search', 'round-robin', [
      { host: '10.0.1.1', port: 9200, zone: 'eu-1a', tags: [] },
      { host: '10.0.1.2', port: 9200, zone: 'eu-1b', tags: [] },
    ])
    // some live numbers
    let i = 0
    for (const ep of this.allEndpoints()) {
      ep.inFlight = i % 3
      ep.requests = 1000 + i * 137
      ep.failures = i
      ep.latency.observe(2 + i * 1.7, 0)
      i++
    }
  }

  addService(name: string, strategy: string, eps: { host: string; port: number; zone?: string; tags: string[] }[]): ServiceEndpoints {
    const set = new ServiceEndpoints({
      name,
      panicThreshold: 0,
      slowStartMs: 0,
      latencyDecayMs: 10_000,
      preferLocalZone: false,
      localZone: undefined,
      now: () => 0,
    })
    set.apply(
      'static',
      eps.map((e) => ({ host: e.host, port: e.port, weight: 1, zone: e.zone, tags: e.tags })),
    )
    this.services_.set(name, { strategy, set })
    return set
  }

  allEndpoints(): Endpoint[] {
    return [...this.services_.values()].flatMap((s) => [...s.set.snapshot.all])
  }

  endpoint(id: string): Endpoint {
    const ep = this.allEndpoints().find((e) => e.id === id)
    if (!ep) throw new Error(`no endpoint ${id}`)
    return ep
  }

  /** Changes an endpoint's breaker and refreshes its service, as the resilience layer would. */
  setBreaker(id: string, state: BreakerKind, reason = 'error rate 62% over 20 requests'): void {
    const ep = this.endpoint(id)
    const from = ep.breaker.kind
    ep.breaker = breakerIn(state, reason)
    this.services_.get(ep.service)!.set.refresh()
    const list = this.transitions.get(id) ?? []
    list.push({ at: this.wallNow(), from: `breaker ${from}`, to: `breaker ${state}`, reason })
    this.transitions.set(id, list)
  }

  // ---- AdminSource ----
  node(): NodeView {
    return this.nodeView
  }
  readiness(): Readiness {
    return this.ready
  }
  members(): readonly MemberView[] {
    return this.membersList
  }
  services(): readonly ServiceView[] {
    return [...this.services_].map(([name, s]) => serviceView(name, s.strategy, 'http1', s.set.snapshot, 0))
  }
  endpoints(): readonly EndpointView[] {
    return this.allEndpoints().map((ep) => endpointView(ep, 0))
  }
  endpointHistory(id: string, sinceMs?: number): HistoryView | undefined {
    this.historyCalls.push({ id, sinceMs })
    const ep = this.allEndpoints().find((e) => e.id === id)
    if (!ep) return undefined
    const now = this.wallNow()
    const b = this.bucketMs
    const end = Math.floor(now / b) * b // start of the bucket still filling
    const first = Math.max(end - 59 * b, sinceMs !== undefined ? Math.floor(sinceMs / b) * b : -Infinity)
    const seed = [...id].reduce((a, c) => a + c.charCodeAt(0), 0)
    const buckets: HistoryBucketView[] = []
    for (let t = first, k = 0; t <= end; t += b, k++) {
      const wave = Math.sin((t / b + seed) / 5)
      const requests = Math.round((40 + 25 * wave + (seed % 17)) * (b / 1000))
      const p99 = Math.round((12 + 8 * Math.cos((t / b + seed) / 4) + (seed % 5)) * 10) / 10
      buckets.push({ start: t, requests, errors: k % 11 === 0 ? 2 : 0, p50: p99 / 3, p90: p99 / 1.5, p99, checksOk: 2, checksFailed: 0 })
    }
    return { id, bucketMs: b, buckets, transitions: this.transitions.get(id) ?? [] }
  }
  alerts(): readonly AlertView[] {
    return this.alertsList
  }
  config(): unknown {
    return this.configValue
  }

  // ---- AdminActions ----
  async reload(): Promise<ReloadResult> {
    this.reloadCalls++
    const r = this.reloadResults.shift() ?? { ok: true, version: 'beefcafe' }
    if (r.ok && r.version) this.nodeView = { ...this.nodeView, configVersion: r.version }
    return r
  }
  async drain(): Promise<void> {
    this.drainCalls++
    this.nodeView = { ...this.nodeView, draining: true }
    this.ready = { ready: false, reason: 'draining' }
    if (this.drainDelayMs > 0) await new Promise((r) => setTimeout(r, this.drainDelayMs))
  }
  async undrain(): Promise<boolean> {
    this.undrainCalls++
    const was = this.nodeView.draining
    this.nodeView = { ...this.nodeView, draining: false }
    this.ready = { ready: true }
    return was
  }
  /** Endpoints by id (the fake has no local services). */
  maintenance(target: MaintenanceTarget, id: string, on: boolean): MaintenanceResult | undefined {
    const ep = target === 'endpoint' ? this.allEndpoints().find((e) => e.id === id) : undefined
    if (ep === undefined) return undefined
    const changed = ep.maintenance !== on
    ep.maintenance = on
    this.services_.get(ep.service)?.set.refresh()
    return { target, id, maintenance: on, changed }
  }
}
