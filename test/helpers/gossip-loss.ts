/**
 * Gossip under packet loss, in network namespaces (issue #13): a PodMesh of commy pods on the
 * ConfigMap's sidecar.yaml (gossip profile `lan` unless told otherwise), converged, then an
 * nftables rule in every pod's namespace drops `tenths`/10 of the UDP packets arriving at the
 * gossip port for `seconds`. Counts, from every pod's log, the members it declared dead (none
 * is: every pod keeps running and reachable), suspected, and cleared (a suspect seen alive
 * again: the member refuted); and from nft
 * the packets each namespace saw and dropped. Used by bench/gossip-loss.ts (2 minutes) and by
 * test/integration/gossip-loss.test.ts (a short run).
 */
import { addUdpLoss, lossCounters } from './netns.js'
import { GOSSIP_PORT, PodMesh } from './netns-mesh.js'

export interface LossRunOptions {
  readonly nodes: number
  readonly seconds: number
  /** Tenths of the gossip UDP packets dropped on arrival (1 = 10%). */
  readonly tenths: number
  readonly profile?: 'lan' | 'local'
  /** Called once the mesh converged and the loss is on (progress output). */
  readonly onLoss?: () => void
}

export interface LossRunResult {
  readonly nodes: number
  readonly seconds: number
  readonly profile: string
  readonly lossPercentConfigured: number
  /** Packets dropped / seen at the gossip port, all namespaces together. */
  readonly lossPercentMeasured: number
  readonly udpPackets: number
  readonly udpDropped: number
  /** 'member state changed' to dead about another (live) member, over all pods. */
  readonly deadDeclarations: number
  /** 'member state changed' to suspect about another member, over all pods. */
  readonly suspicions: number
  /** suspect -> alive about another member (it refuted), over all pods. */
  readonly suspicionsCleared: number
  /** ms from start to every pod holding every member alive. */
  readonly convergeMs: number
  /** Every pod holds every member alive at the end. */
  readonly allAliveAtEnd: boolean
  readonly deadLines: readonly string[]
}

export async function runGossipLoss(options: LossRunOptions): Promise<LossRunResult> {
  const names = Array.from({ length: options.nodes }, (_, i) => `pod-${i}`)
  const profile = options.profile ?? 'lan'
  const mesh = await PodMesh.create({ names, services: names.map(() => 'users'), env: { COMMY_GOSSIP_PROFILE: profile, COMMY_JOIN_TIMEOUT: '2s' } })
  try {
    const t0 = Date.now()
    const pods = await Promise.all(names.map((_, i) => mesh.start(i)))
    const allAlive = (p: (typeof pods)[number]) => () => names.every((n) => p.state(n) === 'alive')
    await Promise.all(pods.map((p) => p.until(allAlive(p), 60_000, 'every member alive')))
    const convergeMs = Date.now() - t0
    for (const n of mesh.net.nodes) addUdpLoss(mesh.net, n.index, GOSSIP_PORT, options.tenths)
    const from = Date.now()
    options.onLoss?.()
    await new Promise((r) => setTimeout(r, options.seconds * 1000))
    const changes = pods.flatMap((p) => p.lines.filter((l) => l.t >= from && l.msg === 'member state changed').map((l) => ({ pod: p.name, l })))
    const dead = changes.filter(({ pod, l }) => l.to === 'dead' && l.member !== pod)
    const counters = mesh.net.nodes.map((n) => lossCounters(mesh.net, n.index))
    const packets = counters.reduce((s, c) => s + c.packets, 0)
    const dropped = counters.reduce((s, c) => s + c.dropped, 0)
    const exited = pods.filter((p) => p.exit !== undefined).map((p) => p.name)
    if (exited.length > 0) throw new Error(`pods exited during the run: ${exited.join(', ')}`)
    return {
      nodes: options.nodes,
      seconds: options.seconds,
      profile,
      lossPercentConfigured: options.tenths * 10,
      lossPercentMeasured: packets === 0 ? 0 : Math.round((dropped / packets) * 1000) / 10,
      udpPackets: packets,
      udpDropped: dropped,
      deadDeclarations: dead.length,
      suspicions: changes.filter(({ pod, l }) => l.to === 'suspect' && l.member !== pod).length,
      suspicionsCleared: changes.filter(({ pod, l }) => l.from === 'suspect' && l.to === 'alive' && l.member !== pod).length,
      convergeMs,
      allAliveAtEnd: pods.every((p) => allAlive(p)()),
      deadLines: dead.map(({ pod, l }) => `${pod}: ${String(l.member)} dead (${typeof l.reason === 'string' ? l.reason : ''})`),
    }
  } finally {
    await mesh.destroy()
  }
}
