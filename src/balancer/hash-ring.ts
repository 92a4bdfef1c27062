/**
 * A hash ring whose layout is a pure function of its members' addresses and weights, built on the
 * `consistent-hash` package. Every sidecar of the mesh that knows the same endpoints builds the
 * same ring, whatever order they arrived in:
 *
 * - control point i of an address is `hash32(`${address}#${i}`)` scaled to [0, RING_RANGE), never
 *   Math.random() (the package's default);
 * - a node gets `round(POINTS_PER_WEIGHT × weight)` points (1..MAX_POINTS), points 0..n-1, so a
 *   weight change only adds or removes that node's own points;
 * - two addresses claiming the same point (rare: ~P²/2R of P points) are resolved by a fixed rule,
 *   the smaller address owns it; the other takes it over when the owner leaves;
 * - keys are hashed with hash32 as well (the package's own PJW hash clusters sequential keys).
 *
 * Changes are incremental: adding or removing a node touches only that node's points (and the
 * rare node that loses or regains a contested point). The package re-sorts its point array lazily
 * on the next lookup after a change.
 */
import ConsistentHash from 'consistent-hash'
import { hash32 } from './hash.js'

/** Ring size: a prime just below 2^26 (the package computes a key's position as (h << 5) % range). */
export const RING_RANGE = 67_108_859
/** Control points per unit of configured weight (ketama uses 160). */
export const POINTS_PER_WEIGHT = 160
/** Upper bound of points for one node (weights above 250 stop adding points). */
export const MAX_POINTS = 40_000

export interface RingNode {
  readonly address: string
}

interface Member<T> {
  node: T
  /** Points asked for (pointsFor(weight)); `points` may be shorter if the address collides with itself. */
  count: number
  /** Every point this address claims (deduplicated), owned or not. */
  points: number[]
  /** Whether the node is currently added to the package's ring (only with at least one owned point). */
  inRing: boolean
  /** Contested points this member currently owns (their owner changes when it leaves). */
  contestedOwned: number
}

/** The package's internals we rely on, kept in one place. */
interface PackageRing<T> extends ConsistentHash<T> {
  _hash(name: string): number
}

export function pointsFor(weight: number): number {
  if (!(weight > 0)) return 0
  return Math.min(MAX_POINTS, Math.max(1, Math.round(POINTS_PER_WEIGHT * weight)))
}

/** Position of control point `i` of `address` on the ring. */
export function controlPoint(address: string, i: number): number {
  return Math.floor((hash32(`${address}#${i}`) / 4294967296) * RING_RANGE)
}

export class HashRing<T extends RingNode> {
  private readonly ring: PackageRing<T>
  private readonly members = new Map<string, Member<T>>()
  /** point -> owning address. */
  private readonly owner = new Map<number, string>()
  /** point -> every address claiming it, only for points claimed more than once. */
  private readonly contested = new Map<number, string[]>()
  /** The key whose hash was computed last, and that hash (the package calls `_hash(key)` itself). */
  private hashedKey = ''
  private keyHash = 0
  /** The package drops its point->node map on remove() and add() then throws until it is rebuilt. */
  private mapStale = false

  constructor() {
    this.ring = new ConsistentHash<T>({ range: RING_RANGE }) as PackageRing<T>
    if (typeof this.ring._hash !== 'function') throw new TypeError('consistent-hash: unsupported package version (no _hash)')
    this.ring._hash = (name: string): number => (name === this.hashedKey ? this.keyHash : hash32(name)) >>> 6
  }

  get size(): number {
    return this.members.size
  }

  has(address: string): boolean {
    return this.members.has(address)
  }

  member(address: string): T | undefined {
    return this.members.get(address)?.node
  }

  /** True when `node` is the member for its address and its points match `weight`. */
  holds(node: T, weight: number): boolean {
    const m = this.members.get(node.address)
    return m !== undefined && m.node === node && m.count === pointsFor(weight)
  }

  addresses(): IterableIterator<string> {
    return this.members.keys()
  }

  /** True when removing `address` would change the owner of a contested point (rare). */
  ownsContested(address: string): boolean {
    return (this.members.get(address)?.contestedOwned ?? 0) > 0
  }

  /** Number of control points `address` owns now. */
  ownedPoints(address: string): number {
    const m = this.members.get(address)
    if (!m) return 0
    let n = 0
    for (const p of m.points) if (this.owner.get(p) === address) n++
    return n
  }

  /** Adds a node, or updates it (new object for the same address, or a new weight). */
  set(node: T, weight: number): void {
    const existing = this.members.get(node.address)
    const count = pointsFor(weight)
    if (existing) {
      if (existing.count === count && existing.node === node) return
      if (existing.count === count) {
        // same layout, new object: swap it in the package's ring
        if (existing.inRing) this.removeFromPackage(existing.node)
        existing.node = node
        existing.inRing = false
        this.reseat(existing)
        return
      }
      this.delete(node.address)
    }
    const points = [...new Set(Array.from({ length: count }, (_, i) => controlPoint(node.address, i)))]
    const m: Member<T> = { node, count, points, inRing: false, contestedOwned: 0 }
    this.members.set(node.address, m)
    const losers = new Set<Member<T>>()
    for (const p of points) {
      const o = this.owner.get(p)
      if (o === undefined) {
        this.owner.set(p, node.address)
        continue
      }
      let claims = this.contested.get(p)
      if (!claims) {
        claims = [o]
        this.contested.set(p, claims)
        this.members.get(o)!.contestedOwned++
      }
      claims.push(node.address)
      if (node.address < o) {
        this.owner.set(p, node.address)
        const loser = this.members.get(o)!
        loser.contestedOwned--
        m.contestedOwned++
        losers.add(loser)
      }
    }
    this.reseat(m)
    for (const l of losers) this.reseat(l)
  }

  /** Removes a node; its contested points pass to the next claimant. */
  delete(address: string): void {
    const m = this.members.get(address)
    if (!m) return
    this.members.delete(address)
    if (m.inRing) this.removeFromPackage(m.node)
    const gainers = new Set<Member<T>>()
    for (const p of m.points) {
      const claims = this.contested.get(p)
      const owned = this.owner.get(p) === address
      if (!claims) {
        if (owned) this.owner.delete(p)
        continue
      }
      claims.splice(claims.indexOf(address), 1)
      if (owned) {
        let next = claims[0]!
        for (const c of claims) if (c < next) next = c
        this.owner.set(p, next)
        const g = this.members.get(next)!
        gainers.add(g)
        if (claims.length > 1) g.contestedOwned++
      }
      if (claims.length === 1) {
        this.contested.delete(p)
        const last = this.members.get(claims[0]!)!
        if (!owned) last.contestedOwned--
      }
    }
    for (const g of gainers) this.reseat(g)
  }

  /** The node owning `key` (undefined for an empty ring). */
  get(key: string): T | undefined {
    this.hashedKey = key
    this.keyHash = hash32(key)
    return this.ring.get(key) ?? undefined
  }

  /** Up to `count` distinct nodes in ring order from `key`'s position (allocates; the slow path). */
  walk(key: string, count: number): readonly T[] {
    this.hashedKey = key
    this.keyHash = hash32(key)
    return this.ring.get(key, count) ?? []
  }

  /** The hash of the key looked up last (for per-key decisions such as slow-start admission). */
  lastKeyHash(): number {
    return this.keyHash
  }

  /** Re-adds a member to the package with exactly the points it owns now. */
  private reseat(m: Member<T>): void {
    if (m.inRing) this.removeFromPackage(m.node)
    const owned: number[] = []
    for (const p of m.points) if (this.owner.get(p) === m.node.address) owned.push(p)
    // never add a node without points: the package would give it "uniform" points of its own
    m.inRing = owned.length > 0
    if (!m.inRing) return
    if (this.mapStale) {
      // consistent-hash 1.2.x: add() after remove() writes into a null map; getPoints() rebuilds it
      this.ring.getPoints(m.node)
      this.mapStale = false
    }
    this.ring.add(m.node, owned.length, owned)
  }

  private removeFromPackage(node: T): void {
    this.ring.remove(node)
    this.mapStale = true
  }
}
