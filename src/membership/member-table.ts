/**
 * The member table of one node: name -> Member (this node included), plus the randomised
 * round-robin probe order of SWIM. The order is a shuffled ring of names that the probe walks;
 * at the end of each round it is compacted and reshuffled, and a member that joins mid-round is
 * placed at a random position still ahead, so every live member is probed once per round.
 * The same ring serves uniform random sampling (indirect probe helpers, gossip targets).
 * Removals are lazy: a ring entry whose member is gone or not live is skipped.
 */
import type { Random } from '../clock.js'
import { isLive, type Member } from './member.js'

export class MemberTable {
  private readonly map = new Map<string, Member>()
  /** Dead and left members (tombstones), for reaping without a full scan. */
  private readonly gone = new Set<string>()
  private ring: string[] = []
  private cursor = 0
  private liveCount = 0

  constructor(
    readonly self: string,
    private readonly random: Random,
  ) {}

  get(name: string): Member | undefined {
    return this.map.get(name)
  }

  /** Members known, this node and tombstones included. */
  get size(): number {
    return this.map.size
  }

  /** Alive and suspect members, this node included (the cluster size estimate). */
  get live(): number {
    return this.liveCount
  }

  values(): IterableIterator<Member> {
    return this.map.values()
  }

  /** Stores a member record; returns the one it replaced. */
  set(m: Member): Member | undefined {
    const prev = this.map.get(m.name)
    this.map.set(m.name, m)
    if (prev !== undefined && isLive(prev.state)) this.liveCount--
    if (isLive(m.state)) this.liveCount++
    if (prev === undefined && m.name !== this.self) this.insert(m.name)
    if (isLive(m.state) || m.name === this.self) this.gone.delete(m.name)
    else this.gone.add(m.name)
    return prev
  }

  delete(name: string): void {
    const prev = this.map.get(name)
    if (prev === undefined) return
    this.map.delete(name)
    this.gone.delete(name)
    if (isLive(prev.state)) this.liveCount--
  }

  /** Removes tombstones whose state changed before `cutoff` (clock ms); returns them. */
  reap(cutoff: number): Member[] {
    const out: Member[] = []
    for (const name of this.gone) {
      const m = this.map.get(name)
      if (m === undefined || m.changedAt > cutoff) continue
      this.delete(name)
      out.push(m)
    }
    return out
  }

  /** The next live member to probe, in randomised round-robin order. */
  nextProbeTarget(): Member | undefined {
    let budget = this.ring.length + 1
    while (budget-- > 0) {
      if (this.cursor >= this.ring.length) {
        this.reshuffle()
        if (this.ring.length === 0) return undefined
      }
      const m = this.map.get(this.ring[this.cursor++]!)
      if (m !== undefined && isLive(m.state)) return m
    }
    return undefined
  }

  /** Up to k distinct random members (never this node) that `accept` takes. */
  sample(k: number, accept: (m: Member) => boolean): Member[] {
    const out: Member[] = []
    const ring = this.ring
    if (k <= 0 || ring.length === 0) return out
    const pick = (name: string): void => {
      const m = this.map.get(name)
      if (m === undefined || !accept(m)) return
      for (const o of out) if (o.name === name) return
      out.push(m)
    }
    for (let tries = 3 * k + 8; tries > 0 && out.length < k; tries--) pick(ring[Math.floor(this.random() * ring.length)]!)
    if (out.length < k && ring.length <= 256) {
      const start = Math.floor(this.random() * ring.length)
      for (let i = 0; i < ring.length && out.length < k; i++) pick(ring[(start + i) % ring.length]!)
    }
    return out
  }

  private insert(name: string): void {
    this.ring.push(name)
    const lo = Math.min(this.cursor, this.ring.length - 1)
    const j = lo + Math.floor(this.random() * (this.ring.length - lo))
    const last = this.ring.length - 1
    ;[this.ring[j], this.ring[last]] = [this.ring[last]!, this.ring[j]!]
  }

  private reshuffle(): void {
    const seen = new Set<string>()
    const next: string[] = []
    for (const name of this.ring) {
      if (seen.has(name) || !this.map.has(name)) continue
      seen.add(name)
      next.push(name)
    }
    for (let i = next.length - 1; i > 0; i--) {
      const j = Math.floor(this.random() * (i + 1))
      ;[next[i], next[j]] = [next[j]!, next[i]!]
    }
    this.ring = next
    this.cursor = 0
  }
}
