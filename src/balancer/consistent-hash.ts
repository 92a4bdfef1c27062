import type { Balancer, BalancerOptions, PickContext, PickExplanation } from './balancer.js'
import type { Endpoint } from '../endpoint/endpoint.js'
import { HashRing, scaleFor } from './hash-ring.js'
import { unitFromHash } from './hash.js'
import { RoundRobinBalancer } from './round-robin.js'

/** Candidates missing from the ring's set that are skipped while walking instead of rebuilding. */
const SUBSET_MAX_MISSING = 2
const SUBSET_MAX_MISSING_RATIO = 0.1

/**
 * Consistent hashing on a ring shared by every sidecar (see hash-ring.ts: points derived from
 * the endpoint address, weight scales the points). The request key comes from the pipeline
 * (`ctx.hashKey`, see hash-key.ts); requests without one go to `options.fallback` (round robin
 * when none is given).
 *
 * - Candidate changes update the ring incrementally. A candidates array that is the ring's set
 *   minus a few endpoints (a retry excluding what it tried, an ejected endpoint) does not change
 *   the ring: the walk skips the missing ones, which gives the same answer as removing them.
 * - Bounded loads (`hashBalanceFactor` c > 0, Google's "consistent hashing with bounded loads"):
 *   an endpoint takes the request only while in-flight + 1 <= ceil(c × (total in-flight + 1) / n);
 *   otherwise the walk goes on to the next endpoint on the ring.
 * - Slow start and mesh health: ring points follow the configured weight only (they must be the
 *   same in every sidecar). An endpoint whose effective weight is a fraction f of its weight
 *   accepts only the keys whose own hash falls below f (the others go on to the next endpoint),
 *   so as f ramps up keys move onto it, never back and forth.
 */
export class ConsistentHashBalancer implements Balancer {
  readonly name = 'consistent-hash'
  private readonly ring = new HashRing<Endpoint>()
  private readonly fallback: Balancer
  private readonly factor: number
  /** The array the ring was last synced to (no skipping needed). */
  private synced: readonly Endpoint[] | undefined
  /** The last array served as a subset of the ring, and its members. */
  private subset: readonly Endpoint[] | undefined
  private allowed: Set<Endpoint> | undefined
  /** Total in-flight of the current pick's candidates (-1 = not summed yet). */
  private totalInFlight = -1

  constructor(options: BalancerOptions) {
    this.fallback = options.fallback ?? new RoundRobinBalancer()
    this.factor = options.hashBalanceFactor > 0 ? options.hashBalanceFactor : 0
  }

  pick(candidates: readonly Endpoint[], ctx: PickContext): Endpoint | undefined {
    if (candidates.length === 0) return undefined
    const key = ctx.hashKey
    if (key === undefined) return this.fallback.pick(candidates, ctx)
    const allowed = this.prepare(candidates)
    const ep = this.ring.get(key)
    if (ep === undefined) return undefined // every candidate has weight 0
    this.totalInFlight = -1
    if ((allowed === undefined || allowed.has(ep)) && this.accepts(ep, candidates, ctx.now)) return ep
    return this.walk(key, candidates, allowed, ctx.now)
  }

  explain(candidates: readonly Endpoint[], ctx: PickContext): PickExplanation {
    const key = ctx.hashKey
    if (key === undefined) {
      const inner = this.fallback.explain?.(candidates, ctx)
      return { strategy: this.name, scores: inner?.scores ?? [], note: `no hash key: fallback ${this.fallback.name}${inner?.note ? ` (${inner.note})` : ''}` }
    }
    const allowed = this.prepare(candidates)
    const order = this.ring.walk(key, Math.min(this.ring.size, 16))
    const rank = new Map<Endpoint, number>()
    let r = 0
    for (const ep of order) if (allowed === undefined || allowed.has(ep)) rank.set(ep, r++)
    const n = candidates.length
    let total = 0
    for (const ep of candidates) total += ep.inFlight
    const cap = this.factor > 0 ? Math.ceil((this.factor * (total + 1)) / n) : 0
    return {
      strategy: this.name,
      scores: candidates.map((ep) => ({ address: ep.address, score: rank.get(ep) ?? -1 })),
      note: `score = position after the key on the ring (0 = owner, -1 = further)${cap > 0 ? `; bounded loads: at most ${cap} in flight each` : ''}`,
    }
  }

  /** Brings the ring up to date with `candidates`; returns the set to restrict the walk to, if any. */
  private prepare(candidates: readonly Endpoint[]): Set<Endpoint> | undefined {
    if (candidates === this.synced) return undefined
    if (candidates === this.subset) return this.allowed
    const allowed = this.asSubset(candidates)
    if (allowed) {
      this.subset = candidates
      this.allowed = allowed
      return allowed
    }
    this.ring.sync(candidates)
    this.synced = candidates
    this.subset = undefined
    this.allowed = undefined
    return undefined
  }

  /**
   * The candidates as a set when they are the ring's set minus a few endpoints and skipping those
   * gives exactly what removing them would (same points per weight, no contested point), else undefined.
   */
  private asSubset(candidates: readonly Endpoint[]): Set<Endpoint> | undefined {
    const size = this.ring.size
    const missing = size - candidates.length
    if (missing <= 0 || missing > Math.max(SUBSET_MAX_MISSING, size * SUBSET_MAX_MISSING_RATIO)) return undefined
    const set = new Set<Endpoint>()
    let total = 0
    for (const ep of candidates) {
      if (!this.ring.holds(ep)) return undefined
      set.add(ep)
      if (ep.weight > 0) total += ep.weight
    }
    if (set.size !== candidates.length || scaleFor(total) !== this.ring.scale) return undefined
    for (const address of this.ring.addresses()) {
      if (!set.has(this.ring.member(address)!) && this.ring.ownsContested(address)) return undefined
    }
    return set
  }

  /** Whether `ep` takes this key now: slow-start admission and bounded load. */
  private accepts(ep: Endpoint, candidates: readonly Endpoint[], now: number): boolean {
    if (!(ep.weight > 0)) return false
    const f = ep.effectiveWeight(now) / ep.weight
    if (f < 1 && unitFromHash(this.ring.lastKeyHash()) >= f) return false
    if (this.factor === 0 || ep.inFlight === 0) return true
    if (this.totalInFlight < 0) {
      let total = 0
      for (let i = 0; i < candidates.length; i++) total += candidates[i]!.inFlight
      this.totalInFlight = total
    }
    return ep.inFlight + 1 <= Math.ceil((this.factor * (this.totalInFlight + 1)) / candidates.length)
  }

  /** Walks the ring from the key's owner; the first allowed endpoint that accepts wins. */
  private walk(key: string, candidates: readonly Endpoint[], allowed: Set<Endpoint> | undefined, now: number): Endpoint | undefined {
    const size = this.ring.size
    let first: Endpoint | undefined
    let seen = 0
    for (let count = Math.min(4, size); ; count = Math.min(count * 4, size)) {
      const order = this.ring.walk(key, count)
      for (let i = seen; i < order.length; i++) {
        const ep = order[i]!
        if (allowed !== undefined && !allowed.has(ep)) continue
        if (!(ep.weight > 0)) continue
        first ??= ep
        if (this.accepts(ep, candidates, now)) return ep
      }
      seen = order.length
      if (count >= size || order.length < count) break
    }
    // nobody accepts (everyone warming or over the bound): the key's own endpoint
    return first
  }
}

export const createConsistentHash = (options: BalancerOptions): Balancer => new ConsistentHashBalancer(options)
