/**
 * Anti-entropy: what a push-pull exchange carries and how a received full state turns into
 * claims. As in memberlist, a member the remote holds dead is merged as *suspect* (we do not kill
 * on hearsay; our own probes decide), left stays left, and the remote's suspicions count as
 * suspicions from it. Tombstones we do not hold are not learned (a claim about an unknown member
 * other than alive is ignored by the precedence rules).
 */
import type { PushPull } from './codec.js'
import type { Claim } from './member.js'
import { aliveClaim } from './member.js'

export function remoteClaims(remote: PushPull): Claim[] {
  const out: Claim[] = []
  for (const m of remote.members) {
    switch (m.state) {
      case 'alive':
        out.push(aliveClaim({ ...m, changedAt: 0 }))
        break
      case 'suspect':
      case 'dead':
        out.push({ type: 'suspect', name: m.name, incarnation: m.incarnation, from: remote.from })
        break
      case 'left':
        out.push({ type: 'left', name: m.name, incarnation: m.incarnation })
        break
    }
  }
  return out
}

/** Full syncs are spread out in large clusters: ×(ceil(log2 n − log2 32) + 1) above 32 members. */
export function pushPullIntervalMs(baseMs: number, n: number): number {
  if (n <= 32) return baseMs
  return baseMs * (Math.ceil(Math.log2(n) - Math.log2(32)) + 1)
}
