/** A scripted MemberSource for GossipDiscovery, and builders for members and their announcements. */
import type { MemberSource } from '../../src/discovery/gossip.js'
import type { ServiceAnnouncement } from '../../src/membership/member.js'
import type { MemberInfo, MembershipEvents } from '../../src/membership/swim.js'

export class FakeMembers implements MemberSource {
  list: MemberInfo[] = []
  private readonly fns = { change: new Set<(m: MemberInfo) => void>(), update: new Set<(m: MemberInfo) => void>(), forget: new Set<(n: string) => void>() }
  members(): readonly MemberInfo[] {
    return this.list
  }
  on<E extends 'change' | 'update' | 'forget'>(event: E, fn: MembershipEvents[E]): () => void {
    const set = this.fns[event] as Set<MembershipEvents[E]>
    set.add(fn)
    return () => void set.delete(fn)
  }
  listenerCount(): number {
    return this.fns.change.size + this.fns.update.size + this.fns.forget.size
  }
  set(m: MemberInfo, event: 'change' | 'update' = 'change'): void {
    this.list = [...this.list.filter((x) => x.name !== m.name), m]
    for (const fn of this.fns[event]) fn(m)
  }
  forget(name: string): void {
    this.list = this.list.filter((x) => x.name !== name)
    for (const fn of this.fns.forget) fn(name)
  }
}

export function svc(name: string, port: number, extra: Partial<ServiceAnnouncement> = {}): ServiceAnnouncement {
  return { name, host: '10.0.0.1', port, weight: 1, tags: [], health: 'healthy', ...extra }
}

export function member(name: string, services: ServiceAnnouncement[], extra: Partial<MemberInfo> = {}): MemberInfo {
  return { name, address: `127.0.0.1:${name.length}`, host: '127.0.0.1', port: 1, state: 'alive', incarnation: 0, zone: 'z1', adminAddress: undefined, meta: { services }, self: false, ...extra }
}
