/**
 * The endpoints of one service, merged from every discovery source, and the snapshot of those
 * that may take traffic now. Discovery sources replace their own set with `apply()`; health
 * mechanisms change an Endpoint's fields and call `refresh()`. Each change publishes a new
 * immutable snapshot; balancers read `snapshot.eligible` on every pick.
 */
import { EventHub } from '../listeners.js'
import { Endpoint, endpointKey, meshPolicy, type EndpointInfo, type EndpointSource, type MeshMode } from './endpoint.js'

export interface ServiceEndpointsOptions {
  readonly name: string
  readonly panicThreshold: number
  readonly slowStartMs: number
  readonly latencyDecayMs: number
  readonly preferLocalZone: boolean
  readonly localZone: string | undefined
  readonly now: () => number
  /** How endpoints learned from discovery are treated (default `none`: no mesh tls). */
  readonly meshMode?: MeshMode
}

export interface EndpointSnapshot {
  /** Every known endpoint, in stable (insertion) order. */
  readonly all: readonly Endpoint[]
  /** Endpoints that may be picked (all non-draining ones in panic mode). */
  readonly eligible: readonly Endpoint[]
  /** True when too few endpoints are healthy and all are used (Envoy's panic routing). */
  readonly panic: boolean
  /** Increases on every change. */
  readonly version: number
}

export interface ServiceEndpointsEvents {
  added?(ep: Endpoint): void
  removed?(ep: Endpoint): void
  snapshot?(snap: EndpointSnapshot, previous: EndpointSnapshot): void
}

export class ServiceEndpoints {
  readonly name: string
  private options: ServiceEndpointsOptions
  private readonly byKey = new Map<string, Endpoint>()
  /** Which sources announce each key (an endpoint stays while any source has it). */
  private readonly sourcesOf = new Map<string, Map<EndpointSource, EndpointInfo>>()
  private readonly listeners = new EventHub<ServiceEndpointsEvents>()
  private started = false
  private snap: EndpointSnapshot = { all: [], eligible: [], panic: false, version: 0 }
  private tagCache = new Map<string, readonly Endpoint[]>()
  /** Eligible endpoints of every zone (what `eligible` is before the local-zone preference). */
  private anyZone: readonly Endpoint[] = []

  constructor(options: ServiceEndpointsOptions) {
    this.name = options.name
    this.options = options
  }

  get snapshot(): EndpointSnapshot {
    return this.snap
  }

  /** After this, endpoints that join (or recover) ramp up over the slow-start window. */
  markStarted(): void {
    this.started = true
  }

  /** Replaces the options (hot reload); endpoints and their stats are kept. */
  reconfigure(options: ServiceEndpointsOptions): void {
    this.options = options
    for (const ep of this.byKey.values()) {
      ep.slowStartMs = options.slowStartMs
      ep.policyRefusal = meshPolicy(options.meshMode ?? 'none', ep)
    }
    this.refresh()
  }

  on(listener: ServiceEndpointsEvents): () => void {
    return this.listeners.on(listener)
  }

  get(address: string): Endpoint | undefined {
    return this.byKey.get(address)
  }

  /** Replaces everything `source` knows about this service. Unchanged endpoints keep their state. */
  apply(source: EndpointSource, infos: readonly EndpointInfo[]): void {
    const now = this.options.now()
    const next = new Map<string, EndpointInfo>()
    for (const info of infos) next.set(endpointKey(info.host, info.port), info)
    const added: Endpoint[] = []
    const removed: Endpoint[] = []
    // drop this source's claim on keys it no longer lists
    for (const [key, srcs] of this.sourcesOf) {
      if (srcs.has(source) && !next.has(key)) {
        srcs.delete(source)
        if (srcs.size === 0) {
          this.sourcesOf.delete(key)
          const ep = this.byKey.get(key)!
          this.byKey.delete(key)
          removed.push(ep)
        } else this.applyInfo(this.byKey.get(key)!, srcs)
      }
    }
    for (const [key, info] of next) {
      let srcs = this.sourcesOf.get(key)
      if (!srcs) {
        srcs = new Map()
        this.sourcesOf.set(key, srcs)
      }
      srcs.set(source, info)
      let ep = this.byKey.get(key)
      if (!ep) {
        ep = new Endpoint(this.name, info, source, this.options.latencyDecayMs)
        ep.slowStartMs = this.options.slowStartMs
        if (this.started) {
          ep.joinedAt = now
          ep.warmingSince = now
        }
        this.byKey.set(key, ep)
        added.push(ep)
      }
      this.applyInfo(ep, srcs)
    }
    for (const ep of removed) this.listeners.emit('removed', ep)
    for (const ep of added) this.listeners.emit('added', ep)
    this.refresh()
  }

  /** Static config wins over gossip for weight/zone/tags; gossip's reported health is kept. */
  private applyInfo(ep: Endpoint, srcs: Map<EndpointSource, EndpointInfo>): void {
    const info = srcs.get('static') ?? srcs.values().next().value!
    ep.weight = info.weight
    ep.zone = info.zone
    ep.tags = info.tags
    ep.node = info.node ?? ep.node
    ep.source = srcs.has('static') ? 'static' : [...srcs.keys()][0]!
    // before the policy: a re-announcement may move the endpoint behind (or out of) an mTLS inbound
    ep.mtls = info.mtls ?? false
    ep.policyRefusal = meshPolicy(this.options.meshMode ?? 'none', ep)
    ep.reportedMaintenance = [...srcs.values()].some((i) => i.maintenance === true)
    const reported = [...srcs.values()].find((i) => i.reportedHealth !== undefined)?.reportedHealth
    if (reported !== undefined && ep.source !== 'static') {
      ep.activeHealth = reported
      ep.activeReason = reported === 'unhealthy' ? `reported unhealthy by node ${info.node ?? '?'}` : ''
    }
  }

  /** Recomputes the eligible set; call after changing any endpoint's health inputs. */
  refresh(): void {
    const now = this.options.now()
    const prev = this.snap
    const all = [...this.byKey.values()]
    const prevEligible = new Set(prev.panic ? [] : prev.eligible)
    let healthy: Endpoint[] = []
    let serving = 0
    for (const ep of all) {
      const e = ep.eligibility(now)
      // refused by mesh security: not part of the service at all (neither serving nor a panic candidate)
      if (e.state !== 'draining' && ep.refusal(now) === undefined) serving++
      if (e.eligible) {
        healthy.push(ep)
        // recovered after the service was up: ramp again
        if (this.started && prev.version > 0 && !prevEligible.has(ep) && prev.all.includes(ep)) ep.warmingSince = now
      }
    }
    let panic = false
    if (serving > 0 && (healthy.length / serving) * 100 < this.options.panicThreshold) {
      panic = true
      healthy = all.filter((ep) => ep.weight > 0 && !ep.inMaintenance && ep.refusal(now) === undefined)
    }
    const anyZone = healthy
    if (this.options.preferLocalZone && this.options.localZone !== undefined && !panic) {
      const local = healthy.filter((ep) => ep.zone === this.options.localZone)
      if (local.length > 0) healthy = local
    }
    const changed =
      panic !== prev.panic || healthy.length !== prev.eligible.length || all.length !== prev.all.length ||
      healthy.some((ep, i) => prev.eligible[i] !== ep) || all.some((ep, i) => prev.all[i] !== ep) ||
      anyZone.length !== this.anyZone.length || anyZone.some((ep, i) => this.anyZone[i] !== ep)
    if (!changed && prev.version > 0) return
    this.snap = Object.freeze({ all: Object.freeze(all), eligible: Object.freeze(healthy), panic, version: prev.version + 1 })
    this.tagCache = new Map()
    this.anyZone = anyZone
    this.listeners.emit('snapshot', this.snap, prev)
  }

  /**
   * Eligible endpoints carrying every tag in `tags` (cached per snapshot). With the local-zone
   * preference, other zones' endpoints are used when no local one carries the tags.
   */
  eligibleWithTags(tags: readonly string[]): readonly Endpoint[] {
    if (tags.length === 0) return this.snap.eligible
    const key = tags.join('\0')
    let list = this.tagCache.get(key)
    if (!list) {
      let found = this.snap.eligible.filter((ep) => ep.hasTags(tags))
      if (found.length === 0 && this.anyZone !== this.snap.eligible) found = this.anyZone.filter((ep) => ep.hasTags(tags))
      list = Object.freeze(found)
      this.tagCache.set(key, list)
    }
    return list
  }

  /** Removes every endpoint (service deleted on reload). */
  clear(): void {
    for (const src of new Set([...this.sourcesOf.values()].flatMap((m) => [...m.keys()]))) this.apply(src, [])
  }
}
