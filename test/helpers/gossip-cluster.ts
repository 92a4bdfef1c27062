/**
 * Many Membership nodes in one process on a MemoryNetwork and a ManualClock, for deterministic
 * gossip tests: seeded loss and delay, partitions, stalls, crashes and restarts.
 * `run(ms)` moves virtual time in small steps and lets promises (push-pull) settle between them.
 */
import { ManualClock, seededRandom, type Random } from '../../src/clock.js'
import { GOSSIP_STREAM_DEFAULTS } from '../../src/config/gossip-defaults.js'
import type { GossipConfig } from '../../src/config/types.js'
import { MemoryNetwork, type MemoryNode } from '../../src/membership/memory-network.js'
import type { NodeMeta } from '../../src/membership/member.js'
import { Membership, type GossipLogger, type MembershipOptions } from '../../src/membership/swim.js'

/** The `local` profile, as normalize.ts fills it in. */
export function localGossipConfig(overrides: Partial<GossipConfig> = {}): GossipConfig {
  return {
    listen: { host: '127.0.0.1', port: 0 },
    advertise: { host: '127.0.0.1', port: 0 },
    seeds: [],
    joinTimeoutMs: 30_000,
    keys: [],
    cluster: 'test',
    profile: 'local',
    probeIntervalMs: 200,
    probeTimeoutMs: 100,
    indirectChecks: 3,
    suspicionMult: 3,
    suspicionMaxTimeoutMult: 6,
    retransmitMult: 2,
    gossipIntervalMs: 100,
    gossipNodes: 3,
    pushPullIntervalMs: 5_000,
    tombstoneTimeoutMs: 60_000,
    lifeguard: true,
    healthQuorum: 2,
    ...GOSSIP_STREAM_DEFAULTS,
    ...overrides,
  }
}

export const silentLogger: GossipLogger = { debug() {}, info() {}, warn() {}, error() {} }

/** Collects log lines (for asserting that a transition was logged). */
export function recordingLogger(into: { level: string; obj: object; msg?: string }[]): GossipLogger {
  const at = (level: string) => (obj: object, msg?: string) => void into.push({ level, obj, ...(msg !== undefined ? { msg } : {}) })
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }
}

export interface ClusterNode {
  readonly name: string
  readonly membership: Membership
  readonly net: MemoryNode
}

export interface ClusterOptions {
  readonly seed?: number
  readonly loss?: number
  readonly minDelayMs?: number
  readonly maxDelayMs?: number
  readonly config?: Partial<GossipConfig>
}

export class TestCluster {
  readonly clock = new ManualClock(1_000_000)
  readonly network: MemoryNetwork
  readonly nodes = new Map<string, ClusterNode>()
  private readonly random: Random
  private readonly config: GossipConfig

  constructor(options: ClusterOptions = {}) {
    this.random = seededRandom(options.seed ?? Number(process.env.GOSSIP_TEST_SEED ?? 1))
    this.network = new MemoryNetwork({
      clock: this.clock,
      random: seededRandom((options.seed ?? Number(process.env.GOSSIP_TEST_SEED ?? 1)) + 1000),
      loss: options.loss ?? 0,
      minDelayMs: options.minDelayMs ?? 1,
      maxDelayMs: options.maxDelayMs ?? 5,
    })
    this.config = localGossipConfig(options.config)
  }

  /** Creates (does not start) a node; seeds default to the first node's address. */
  add(name: string, opts: { config?: Partial<GossipConfig>; meta?: NodeMeta; port?: number; zone?: string; extra?: Partial<MembershipOptions> } = {}): ClusterNode {
    const net = this.network.node(opts.port !== undefined ? { port: opts.port } : undefined)
    const first = [...this.nodes.values()][0]
    const seeds = first && first.name !== name ? [`${first.net.address.host}:${first.net.address.port}`] : []
    const config: GossipConfig = {
      ...this.config,
      listen: net.address,
      advertise: net.address,
      seeds,
      ...opts.config,
    }
    const membership = new Membership({
      config,
      node: { name, zone: opts.zone },
      transport: net.transport,
      clock: net.clock,
      random: seededRandom(Math.floor(this.random() * 2 ** 31)),
      logger: silentLogger,
      resolver: { addresses: async (host) => [host], srv: async () => [] },
      ...(opts.meta ? { meta: opts.meta } : {}),
      ...opts.extra,
    })
    const node = { name, membership, net }
    this.nodes.set(name, node)
    return node
  }

  node(name: string): ClusterNode {
    const n = this.nodes.get(name)
    if (!n) throw new Error(`no node ${name}`)
    return n
  }

  /** Starts nodes one after the other (each join completes before the next starts). */
  async startAll(names: readonly string[] = [...this.nodes.keys()]): Promise<void> {
    for (const n of names) await this.start(n)
  }

  /** Starts one node, moving the clock until its first join attempt is over. */
  async start(name: string): Promise<void> {
    const p = this.node(name).membership.start()
    await this.runUntil(settled(p), 5_000)
    await p
  }

  /** Moves virtual time by `ms`, letting promises settle every `stepMs`. */
  async run(ms: number, stepMs = 10): Promise<void> {
    const end = this.clock.now() + ms
    while (this.clock.now() < end) {
      this.clock.advanceTo(Math.min(end, this.clock.now() + stepMs))
      await flush()
    }
  }

  /** Runs until `cond` holds (checked every step) or `maxMs` passes; returns the elapsed virtual ms or -1. */
  async runUntil(cond: () => boolean, maxMs: number, stepMs = 10): Promise<number> {
    const start = this.clock.now()
    await flush()
    while (!cond()) {
      if (this.clock.now() - start >= maxMs) return -1
      this.clock.advanceTo(this.clock.now() + stepMs)
      await flush()
    }
    return this.clock.now() - start
  }

  /** Live nodes (not crashed), by name. */
  running(): ClusterNode[] {
    return [...this.nodes.values()].filter((n) => !n.net.clock.crashed)
  }

  /** True when every running node sees every name in `names` in `state`. */
  allSee(names: readonly string[], state: string, among: readonly ClusterNode[] = this.running()): boolean {
    return among.every((o) => names.every((n) => o.membership.stateOf(n) === state))
  }

  /** Each running node's view as sorted `name:state` strings. */
  views(among: readonly ClusterNode[] = this.running()): string[][] {
    return among.map((o) =>
      o.membership
        .members()
        .map((m) => `${m.name}:${m.state}`)
        .sort(),
    )
  }

  async stopAll(): Promise<void> {
    const all = [...this.nodes.values()].map((n) => n.membership.halt())
    await this.runUntil(() => false, 50)
    await Promise.all(all)
  }
}

/** Lets pending promise continuations run. */
export function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}

function settled(p: Promise<unknown>): () => boolean {
  let done = false
  p.then(
    () => (done = true),
    () => (done = true),
  )
  return () => done
}
