/**
 * A hash ring whose layout is a pure function of its members' addresses and weights, built on the
 * `consistent-hash` package. Every sidecar of the mesh that knows the same endpoints builds the
 * same ring, whatever order they arrived in:
 *
 * - control point i of an address is `hash32(`${address}#${i}`)` scaled to [0, RING_RANGE), never
 *   Math.random() (the package's default);
 * - a node gets round(scale × weight) points, points 0..n-1 (at least 1), where scale is
 *   POINTS_PER_WEIGHT while the ring's total weight is at most MAX_RING_POINTS / POINTS_PER_WEIGHT
 *   (128), and MAX_RING_POINTS / total weight above that, so big services stay within memory;
 * - two addresses claiming the same point (rare: ~P²/2R of P points) are resolved by a fixed rule,
 *   the smaller address owns it; the other takes it over when the owner leaves;
 * - keys are hashed with hash32 as well (the package's own PJW hash clusters sequential keys).
 *
 * With 1,024 points per weight unit a node's share of the ring is within ~3% (one standard
 * deviation) of its weight's share. Changes are incremental: only the points of added, removed
 * or re-weighted nodes are computed and only those nodes are re-seated in the package, which
 * re-sorts its point array lazily on the next lookup. Up to 128 weight units, adding a node moves
 * only the keys it takes and removing one moves only its keys; above that the scale changes with
 * the total weight, so every node gains or drops a few points and about as many keys again move.
 */
import ConsistentHash from 'consistent-hash'
import { hash32 } from './hash.js'

/** Ring size: a prime just below 2^26 (the package computes a key's position as (h << 5) % range). */
export const RING_RANGE = 67_108_859
/** Control points per unit of configured weight while the ring is small. */
export const POINTS_PER_WEIGHT = 1024
/** Points of the whole ring above which points per weight shrink (memory, rebuild time). */
export const MAX_RING_POINTS = 131_072

export interface RingNode {
  readonly address: string
  /** Configured weight (0 = no points). */
  readonly weight: number
}

interface Member<T> {
  node: T
  /** The object currently added to the package (may lag `node` until the next commit). */
  seated: T | undefined
  weight: number
  /** points[i] = control point i, or -1 when it repeats one of this address's earlier points. */
  points: number[]
  /** Contested points this member currently owns (their owner changes when it leaves). */
  contestedOwned: number
}

/** The package's internals we rely on, kept in one place. */
interface PackageRing<T> extends ConsistentHash<T> {
  _hash(name: string): number
}

/** Points per weight unit for a ring of `totalWeight`. */
export function scaleFor(totalWeight: number): number {
  return totalWeight * POINTS_PER_WEIGHT <= MAX_RING_POINTS ? POINTS_PER_WEIGHT : MAX_RING_POINTS / totalWeight
}

export function pointsFor(weight: number, scale: number): number {
  return weight > 0 ? Math.max(1, Math.round(scale * weight)) : 0
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
  private currentScale = POINTS_PER_WEIGHT
  /** The key whose hash was computed last, and that hash (the package calls `_hash(key)` itself). */
  private hashedKey = ''
  private keyHash = 0

  constructor() {
    this.ring = new ConsistentHash<T>({ range: RING_RANGE }) as PackageRing<T>
    if (typeof this.ring._hash !== 'function') throw new TypeError('consistent-hash: unsupported package version (no _hash)')
    this.ring._hash = (name: string): number => (name === this.hashedKey ? this.keyHash : hash32(name)) >>> 6
  }

  get size(): number {
    return this.members.size
  }

  /** Points per weight unit now. */
  get scale(): number {
    return this.currentScale
  }

  /** Control points in the ring. */
  get pointCount(): number {
    return this.owner.size
  }

  /** Points claimed by more than one address (resolved: the smallest address owns it). */
  get contestedCount(): number {
    return this.contested.size
  }

  member(address: string): T | undefined {
    return this.members.get(address)?.node
  }

  /** True when `node` is the member for its address, with the weight it was placed with. */
  holds(node: T): boolean {
    const m = this.members.get(node.address)
    return m !== undefined && m.node === node && m.weight === node.weight
  }

  addresses(): IterableIterator<string> {
    return this.members.keys()
  }

  /** True when removing `address` would hand a contested point to another member (rare). */
  ownsContested(address: string): boolean {
    return (this.members.get(address)?.contestedOwned ?? 0) > 0
  }

  /** Control points `address` owns now. */
  ownedPoints(address: string): number {
    const m = this.members.get(address)
    return m ? this.owned(m).length : 0
  }

  /** Makes the ring hold exactly `nodes` (by address, with their current weights), incrementally. */
  sync(nodes: readonly T[]): void {
    let total = 0
    const present = new Set<string>()
    for (const n of nodes) {
      present.add(n.address)
      if (n.weight > 0) total += n.weight
    }
    const scale = scaleFor(total)
    const dirty = new Set<Member<T>>()
    const unseat: T[] = []
    for (const [address, m] of this.members) {
      if (present.has(address)) continue
      this.resize(m, 0, dirty)
      if (m.seated) unseat.push(m.seated)
      this.members.delete(address)
      dirty.delete(m)
    }
    for (const node of nodes) {
      let m = this.members.get(node.address)
      if (!m) {
        m = { node, seated: undefined, weight: node.weight, points: [], contestedOwned: 0 }
        this.members.set(node.address, m)
      } else if (m.node !== node) {
        m.node = node
        dirty.add(m)
      }
      m.weight = node.weight
      this.resize(m, pointsFor(node.weight, scale), dirty)
    }
    this.currentScale = scale
    this.commit(unseat, dirty)
  }

  /** The node owning `key` (undefined for an empty ring). */
  get(key: string): T | undefined {
    this.hashedKey = key
    this.keyHash = hash32(key)
    return this.ring.get(key) ?? undefined
  }

  /** Up to `count` distinct nodes in ring order from `key`'s position (allocates; the slow path). */
  walk(key: string, count: number): readonly T[] {
    if (count <= 0) return [] // the package treats count 0 as a single lookup
    this.hashedKey = key
    this.keyHash = hash32(key)
    return this.ring.get(key, count) ?? []
  }

  /** The hash of the key looked up last (for per-key decisions such as slow-start admission). */
  lastKeyHash(): number {
    return this.keyHash
  }

  /** Grows or shrinks a member's points to `count` (a prefix of its point sequence). */
  private resize(m: Member<T>, count: number, dirty: Set<Member<T>>): void {
    const address = m.node.address
    if (count === m.points.length) return
    dirty.add(m)
    while (m.points.length > count) {
      const p = m.points.pop()!
      if (p >= 0) this.release(m, p, dirty)
    }
    for (let i = m.points.length; i < count; i++) {
      const p = controlPoint(address, i)
      const o = this.owner.get(p)
      if (o === address || this.contested.get(p)?.includes(address)) {
        m.points.push(-1) // repeats one of its own points
        continue
      }
      m.points.push(p)
      if (o === undefined) {
        this.owner.set(p, address)
        continue
      }
      let claims = this.contested.get(p)
      if (!claims) {
        claims = [o]
        this.contested.set(p, claims)
        this.members.get(o)!.contestedOwned++
      }
      claims.push(address)
      if (address < o) {
        this.owner.set(p, address)
        const loser = this.members.get(o)!
        loser.contestedOwned--
        m.contestedOwned++
        dirty.add(loser)
      }
    }
  }

  /** Gives up one point; a contested point passes to the smallest remaining claimant. */
  private release(m: Member<T>, p: number, dirty: Set<Member<T>>): void {
    const address = m.node.address
    const owned = this.owner.get(p) === address
    const claims = this.contested.get(p)
    if (!claims) {
      if (owned) this.owner.delete(p)
      return
    }
    claims.splice(claims.indexOf(address), 1)
    if (owned) {
      m.contestedOwned--
      let next = claims[0]!
      for (const c of claims) if (c < next) next = c
      this.owner.set(p, next)
      const gainer = this.members.get(next)!
      dirty.add(gainer)
      if (claims.length > 1) gainer.contestedOwned++
    }
    if (claims.length === 1) {
      this.contested.delete(p)
      if (!owned) this.members.get(claims[0]!)!.contestedOwned--
    }
  }

  private owned(m: Member<T>): number[] {
    const out: number[] = []
    for (const p of m.points) if (p >= 0 && this.owner.get(p) === m.node.address) out.push(p)
    return out
  }

  /** Re-seats changed members in the package: every removal first, then one map rebuild, then the adds. */
  private commit(unseat: T[], dirty: Set<Member<T>>): void {
    for (const m of dirty) {
      if (m.seated) {
        unseat.push(m.seated)
        m.seated = undefined
      }
    }
    for (const node of unseat) this.ring.remove(node)
    // consistent-hash 1.2.x: add() after remove() writes into a null map; getPoints() rebuilds it
    if (unseat.length > 0) this.ring.getPoints(unseat[0]!)
    for (const m of dirty) {
      const points = this.owned(m)
      // never add a node without points: the package would give it "uniform" points of its own
      if (points.length === 0) continue
      this.ring.add(m.node, points.length, points)
      m.seated = m.node
    }
  }
}
