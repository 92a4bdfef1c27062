/**
 * gossip-sim: the real Membership code on the in-memory network with a virtual clock, for
 * 1,000 and 5,000 members. Scenarios:
 *
 *  - dissemination: one member announces new metadata; time (and gossip rounds, and protocol
 *    periods) until 50 / 90 / 99 / 100 % of the others have it, against log2 n;
 *  - detection: one member crashes; time to the first suspicion, the first death and death
 *    everywhere, against the bound the settings imply and SWIM's e/(e−1)·T to the first detection;
 *  - false positives under uniform packet loss (5 % for 3 min, 10 % for 1 min, 1,000 members),
 *    with and without the Lifeguard extensions (no member fails; every death is a false
 *    positive), and the failed-probe rate against SWIM's analysis;
 *  - slow members (the anomaly Lifeguard targets): a few members keep stalling (their timers and
 *    incoming packets wait, like an event loop blocked or a process descheduled), with and
 *    without Lifeguard; false positives about the healthy members and about the slow ones.
 *
 * Settings: sidecar.yaml's `lan` profile as the real config loader normalises it, push-pull off
 * (the SWIM and Lifeguard papers have no anti-entropy; it would only mask what is measured), no
 * encryption (crypto is not what is simulated), datagram delay uniform 1–10 ms.
 * Baselines measured in the same run: SWIM without Lifeguard (ratios Lifeguard / SWIM), log2 n.
 *
 *   node dist/bench/gossip-sim.js [--quick] [--only dissemination,detection,loss,slow]
 *
 * Prints one line per result and, last, one JSON summary line. About 3–4 CPU-minutes, 3 GB.
 */
import { execFileSync } from 'node:child_process'
import os from 'node:os'
import { getHeapStatistics } from 'node:v8'
import { ManualClock, seededRandom, type Random } from '../src/clock.js'
import { parseConfig } from '../src/config/load.js'
import type { GossipConfig } from '../src/config/types.js'
import { detectionBound } from '../src/membership/bounds.js'
import { MemoryNetwork } from '../src/membership/memory-network.js'
import { EMPTY_META, type Member } from '../src/membership/member.js'
import { Membership, type GossipLogger } from '../src/membership/swim.js'
import { machine } from './lib/machine.js'

// 5,000 members × 5,000-entry tables need more than the default heap: re-run with a larger one
if (getHeapStatistics().heap_size_limit < 6e9 && !process.env.GOSSIP_SIM_CHILD) {
  try {
    execFileSync(process.execPath, ['--max-old-space-size=8192', ...process.execArgv, process.argv[1]!, ...process.argv.slice(2)], {
      stdio: 'inherit',
      env: { ...process.env, GOSSIP_SIM_CHILD: '1' },
    })
    process.exit(0)
  } catch (err) {
    process.exit((err as { status?: number }).status ?? 1)
  }
}

const args = process.argv.slice(2)
const QUICK = args.includes('--quick')
const onlyArg = args[args.indexOf('--only') + 1]
const ONLY = args.includes('--only') && onlyArg ? new Set(onlyArg.split(',')) : undefined
const want = (s: string): boolean => ONLY === undefined || ONLY.has(s)

const silent: GossipLogger = { debug() {}, info() {}, warn() {}, error() {} }

function lanProfile(): GossipConfig {
  const cfg = parseConfig(`listeners: [{ name: out, listen: "127.0.0.1:0", routes: [] }]\nservices: {}\ngossip: { listen: "127.0.0.1:0", profile: lan }\n`, '<gossip-sim>')
  return { ...cfg.gossip!, pushPullIntervalMs: 0 }
}
const LAN = lanProfile()

interface SimOptions {
  readonly n: number
  readonly seed: number
  readonly loss?: number
  readonly lifeguard?: boolean
}

/** n members that all know each other from the start (as after a join), on one virtual clock. */
class Sim {
  readonly clock = new ManualClock(1_700_000_000_000)
  readonly network: MemoryNetwork
  readonly nodes: Membership[] = []
  readonly names: string[] = []
  readonly addresses: { host: string; port: number }[] = []
  readonly crashers: (() => void)[] = []
  readonly cfg: GossipConfig

  constructor(readonly opts: SimOptions) {
    const random: Random = seededRandom(opts.seed)
    this.network = new MemoryNetwork({ clock: this.clock, random: seededRandom(opts.seed + 1), loss: opts.loss ?? 0, minDelayMs: 1, maxDelayMs: 10 })
    this.cfg = { ...LAN, lifeguard: opts.lifeguard ?? true }
    const nets = Array.from({ length: opts.n }, () => this.network.node())
    const known: Member[] = nets.map((net, i) => ({
      name: `n${i}`,
      host: net.address.host,
      port: net.address.port,
      state: 'alive',
      incarnation: 0,
      zone: '',
      adminAddress: '',
      meta: EMPTY_META,
      changedAt: this.clock.now(),
    }))
    nets.forEach((net, i) => {
      this.names.push(`n${i}`)
      this.addresses.push(net.address)
      this.crashers.push(() => net.crash())
      this.nodes.push(
        new Membership({
          config: { ...this.cfg, listen: net.address, advertise: net.address },
          node: { name: `n${i}` },
          transport: net.transport,
          clock: net.clock,
          random: seededRandom(Math.floor(random() * 2 ** 31)),
          logger: silent,
          initialMembers: known,
        }),
      )
    })
  }

  async start(): Promise<void> {
    const all = Promise.all(this.nodes.map((m) => m.start()))
    await this.run(50)
    await all
  }

  /** Advances virtual time, letting promises settle every `stepMs`. */
  async run(ms: number, stepMs = 100, until?: () => boolean): Promise<number> {
    const start = this.clock.now()
    const end = start + ms
    while (this.clock.now() < end) {
      this.clock.advanceTo(Math.min(end, this.clock.now() + stepMs))
      await new Promise((r) => setImmediate(r))
      if (until?.()) break
    }
    return this.clock.now() - start
  }

  async stop(): Promise<void> {
    const all = Promise.all(this.nodes.map((m) => m.halt()))
    await this.run(100)
    await all
  }
}

const results: Record<string, unknown[]> = { dissemination: [], detection: [], loss: [], slow: [] }
const log = (line: string): void => console.log(line)
const r1 = (x: number): number => Math.round(x * 10) / 10

async function dissemination(sim: Sim): Promise<void> {
  const n = sim.opts.n
  const t0 = Date.now()
  const origin = sim.nodes[0]!
  const learned: number[] = []
  const seen = new Set<number>()
  let startedAt = 0
  sim.nodes.forEach((m, i) => {
    if (i === 0) return
    m.on('update', (member) => {
      if (member.name === 'n0' && member.incarnation >= 1 && !seen.has(i)) {
        seen.add(i)
        learned.push(sim.clock.now() - startedAt)
      }
    })
  })
  startedAt = sim.clock.now()
  origin.setLocalMeta({ services: [{ name: 'web', host: '10.0.0.1', port: 8080, weight: 1, tags: [], health: 'healthy' }] })
  await sim.run(60_000, 10, () => seen.size === n - 1)
  learned.sort((a, b) => a - b)
  const at = (q: number): number => Math.round(learned[Math.min(learned.length - 1, Math.ceil(q * (n - 1)) - 1)] ?? NaN)
  const all = learned.length === n - 1 ? at(1) : NaN
  const G = sim.cfg.gossipIntervalMs
  const r = {
    n,
    reached: learned.length,
    ms: { p50: at(0.5), p90: at(0.9), p99: at(0.99), all },
    gossipRounds: r1(all / G),
    protocolPeriods: r1(all / sim.cfg.probeIntervalMs),
    log2n: r1(Math.log2(n)),
    roundsPerLog2n: r1(all / G / Math.log2(n)),
    wallMs: Date.now() - t0,
  }
  results.dissemination!.push(r)
  log(`dissemination n=${n}: 50% ${r.ms.p50} ms, 90% ${r.ms.p90} ms, 99% ${r.ms.p99} ms, all ${all} ms = ${r.gossipRounds} gossip rounds (log2 n = ${r.log2n}) = ${r.protocolPeriods} periods [${r.wallMs} ms wall]`)
}

async function detection(sim: Sim, trials: number): Promise<void> {
  const { n } = sim.opts
  const lifeguard = sim.cfg.lifeguard
  const t0 = Date.now()
  const T = sim.cfg.probeIntervalMs
  const bound = detectionBound(sim.cfg, n)
  const firstSuspect: number[] = []
  const firstDead: number[] = []
  const everywhere: number[] = []
  const random = seededRandom(n)
  const crashed = new Set<number>()
  for (let trial = 0; trial < trials; trial++) {
    let victim = Math.floor(random() * n)
    while (crashed.has(victim)) victim = Math.floor(random() * n)
    crashed.add(victim)
    const name = `n${victim}`
    let suspectAt = NaN
    let deadAt = NaN
    let deadCount = 0
    const startedAt = sim.clock.now()
    const offs = sim.nodes.map((m, i) =>
      crashed.has(i)
        ? () => {}
        : m.on('change', (member) => {
            if (member.name !== name) return
            const t = sim.clock.now() - startedAt
            if (member.state === 'suspect' && Number.isNaN(suspectAt)) suspectAt = t
            if (member.state === 'dead') {
              if (Number.isNaN(deadAt)) deadAt = t
              deadCount++
            }
          }),
    )
    sim.crashers[victim]!()
    const alive = n - crashed.size
    await sim.run(bound.suspicionMaxMs + 30 * T, 50, () => deadCount === alive)
    for (const off of offs) off()
    firstSuspect.push(suspectAt)
    firstDead.push(deadAt)
    everywhere.push(deadCount === alive ? sim.clock.now() - startedAt : NaN)
    await sim.run(2_000)
  }
  const mean = (xs: number[]): number => Math.round(xs.reduce((a, b) => a + b, 0) / xs.length)
  const r = {
    n,
    lifeguard,
    trials,
    meanMs: { firstSuspect: mean(firstSuspect), firstDead: mean(firstDead), deadEverywhere: mean(everywhere) },
    maxMs: { firstSuspect: Math.max(...firstSuspect), deadEverywhere: Math.max(...everywhere) },
    firstSuspectPeriods: r1(mean(firstSuspect) / T),
    swimFirstDetectionPeriods: r1(Math.E / (Math.E - 1)),
    bound,
    allWithinLikelyBound: everywhere.every((x) => x <= bound.deadEverywhereLikelyWithinMs),
    wallMs: Date.now() - t0,
  }
  results.detection!.push(r)
  log(
    `detection n=${n} lifeguard=${lifeguard} (${trials} crashes): first suspicion ${r.meanMs.firstSuspect} ms mean (${r.firstSuspectPeriods} periods; SWIM expects e/(e-1) = ${r.swimFirstDetectionPeriods}), first death ${r.meanMs.firstDead} ms, dead everywhere ${r.meanMs.deadEverywhere} ms mean / ${r.maxMs.deadEverywhere} max (suspicion ${Math.round(bound.suspicionMinMs)}–${Math.round(bound.suspicionMaxMs)} ms) [${r.wallMs} ms wall]`,
  )
}

/** A warmed-up cluster: started, and every member's join-time alive gossiped out. */
async function cluster(opts: SimOptions): Promise<Sim> {
  const sim = new Sim(opts)
  await sim.start()
  await sim.run(10_000)
  return sim
}

interface FpCount {
  episodes: Set<string>
  pairs: number
}

function countDeaths(sim: Sim, isWatched: (name: string) => boolean): FpCount {
  const c: FpCount = { episodes: new Set(), pairs: 0 }
  for (const m of sim.nodes) {
    m.on('change', (member) => {
      if (member.state !== 'dead' || !isWatched(member.name)) return
      c.pairs++
      c.episodes.add(`${member.name}@${member.incarnation}`)
    })
  }
  return c
}

function totals(sim: Sim, pick: (m: Membership) => boolean = () => true): { failedProbes: number; suspicions: number; refutations: number; packets: number } {
  let failedProbes = 0
  let suspicions = 0
  let refutations = 0
  let packets = 0
  for (const m of sim.nodes) {
    if (!pick(m)) continue
    failedProbes += m.counters.failedProbes
    suspicions += m.counters.suspicions
    refutations += m.counters.refutations
    packets += m.counters.packetsOut
  }
  return { failedProbes, suspicions, refutations, packets }
}

async function loss(n: number, p: number, lifeguard: boolean, durationMs: number): Promise<void> {
  const sim = new Sim({ n, seed: 300 + Math.round(p * 100), loss: p, lifeguard })
  const t0 = Date.now()
  await sim.start()
  await sim.run(5_000)
  const deaths = countDeaths(sim, () => true)
  const before = totals(sim)
  await sim.run(durationMs, 200)
  const after = totals(sim)
  const probes = (n * durationMs) / sim.cfg.probeIntervalMs
  const nodeHours = (n * durationMs) / 3_600_000
  const r = {
    n,
    loss: p,
    lifeguard,
    virtualSeconds: durationMs / 1000,
    falsePositives: deaths.episodes.size,
    falsePositivesPerNodeHour: deaths.episodes.size / nodeHours,
    deadMarks: deaths.pairs,
    failedProbes: after.failedProbes - before.failedProbes,
    failedProbeRate: (after.failedProbes - before.failedProbes) / probes,
    // SWIM's analysis with independent loss: the ping or its ack is lost, and so is every one of
    // the k indirect paths (ping-req, ping, ack, ack: four datagrams each)
    analyticFailedProbeRate: (1 - (1 - p) ** 2) * (1 - (1 - p) ** 4) ** sim.cfg.indirectChecks,
    refutations: after.refutations - before.refutations,
    packetsPerNodePerSecond: r1((after.packets - before.packets) / n / (durationMs / 1000)),
    wallMs: Date.now() - t0,
  }
  results.loss!.push(r)
  log(
    `loss ${p * 100}% n=${n} lifeguard=${lifeguard} ${durationMs / 1000}s: false positives ${r.falsePositives} (${r.deadMarks} dead marks), failed probes ${r.failedProbes} (${(r.failedProbeRate * 100).toFixed(3)}% of probes; SWIM analysis ${(r.analyticFailedProbeRate * 100).toFixed(3)}%), refutations ${r.refutations}, ${r.packetsPerNodePerSecond} packets/node/s [${r.wallMs} ms wall]`,
  )
  await sim.stop()
}

async function slow(n: number, slowCount: number, lifeguard: boolean, durationMs: number): Promise<void> {
  const sim = new Sim({ n, seed: 400 + n, loss: 0.01, lifeguard })
  const t0 = Date.now()
  await sim.start()
  await sim.run(5_000)
  const random = seededRandom(77)
  const slowSet = new Set<string>()
  while (slowSet.size < slowCount) slowSet.add(`n${Math.floor(random() * n)}`)
  const slowIdx = [...slowSet].map((s) => Number(s.slice(1)))
  // each slow member, over and over: runs for 0.5–3 s, then stalls for 2–12 s (its timers and
  // input wait: a blocked event loop, a long GC, a descheduled VM); while it runs, every packet
  // waits 0–600 ms more before it is processed (a starved event loop)
  for (const i of slowIdx) {
    const addr = sim.addresses[i]!
    sim.network.slowDown(addr, () => random() * 600)
    const cycle = (): void => {
      const stallMs = 2000 + random() * 10_000
      sim.network.stall(addr, stallMs)
      sim.clock.setTimer(cycle, stallMs + 500 + random() * 2500)
    }
    sim.clock.setTimer(cycle, random() * 3000)
  }
  const healthy = countDeaths(sim, (name) => !slowSet.has(name))
  const ofSlow = countDeaths(sim, (name) => slowSet.has(name))
  const before = totals(sim, (m) => !slowSet.has(m.name))
  const beforeSlow = totals(sim, (m) => slowSet.has(m.name))
  await sim.run(durationMs, 200)
  const after = totals(sim, (m) => !slowSet.has(m.name))
  const afterSlow = totals(sim, (m) => slowSet.has(m.name))
  const r = {
    n,
    slowMembers: slowCount,
    lifeguard,
    virtualSeconds: durationMs / 1000,
    falsePositivesHealthy: healthy.episodes.size,
    deadMarksHealthy: healthy.pairs,
    falsePositivesSlow: ofSlow.episodes.size,
    failedProbesBySlow: afterSlow.failedProbes - beforeSlow.failedProbes,
    failedProbesByHealthy: after.failedProbes - before.failedProbes,
    wallMs: Date.now() - t0,
  }
  results.slow!.push(r)
  log(
    `slow ${slowCount}/${n} lifeguard=${lifeguard} ${durationMs / 1000}s: false positives about healthy members ${r.falsePositivesHealthy} (${r.deadMarksHealthy} dead marks), about slow members ${r.falsePositivesSlow}; failed probes by slow members ${r.failedProbesBySlow}, by healthy ${r.failedProbesByHealthy} [${r.wallMs} ms wall]`,
  )
  await sim.stop()
}

const started = Date.now()
log(`gossip-sim: node ${process.version}, ${os.cpus()[0]?.model ?? 'cpu?'}, lan profile (T = ${LAN.probeIntervalMs} ms, probe timeout ${LAN.probeTimeoutMs} ms, k = ${LAN.indirectChecks}, suspicion ×${LAN.suspicionMult}..×${LAN.suspicionMult * LAN.suspicionMaxTimeoutMult}, λ = ${LAN.retransmitMult}, gossip ${LAN.gossipIntervalMs} ms to ${LAN.gossipNodes})${QUICK ? ', quick' : ''}`)
const sizes = QUICK ? [1000] : [1000, 5000]
if (want('dissemination') || want('detection')) {
  for (const n of sizes) {
    const t0 = Date.now()
    const sim = await cluster({ n, seed: 100 + n })
    log(`cluster of ${n} started and warmed up [${Date.now() - t0} ms wall]`)
    if (want('dissemination')) await dissemination(sim)
    if (want('detection')) await detection(sim, QUICK || n > 1000 ? 3 : 5)
    await sim.stop()
  }
  // the baseline: classic SWIM (no Lifeguard), same seed, at 1,000
  if (want('detection')) {
    const sim = await cluster({ n: 1000, seed: 1100, lifeguard: false })
    await detection(sim, QUICK ? 3 : 5)
    await sim.stop()
  }
}
const LOSS_N = QUICK ? 200 : 1000
if (want('loss')) for (const p of [0.05, 0.1]) for (const lg of [true, false]) await loss(LOSS_N, p, lg, QUICK ? 60_000 : p < 0.1 ? 180_000 : 60_000)
if (want('slow')) for (const lg of [true, false]) await slow(128, 8, lg, QUICK ? 120_000 : 600_000)

type Row = Record<string, unknown>
const find = (list: unknown[], pred: (r: Row) => boolean): Row | undefined => (list as Row[]).find(pred)
const ratio = (a: unknown, b: unknown): number | null => (typeof a === 'number' && typeof b === 'number' && b !== 0 ? Math.round((a / b) * 1000) / 1000 : null)
const ratios: Record<string, number | null> = {}
for (const p of [0.05, 0.1]) {
  const lg = find(results.loss!, (r) => r.loss === p && r.lifeguard === true)
  const sw = find(results.loss!, (r) => r.loss === p && r.lifeguard === false)
  ratios[`falsePositives_loss${p * 100}_lifeguardOverSwim`] = ratio(lg?.falsePositives, sw?.falsePositives)
  ratios[`failedProbes_loss${p * 100}_lifeguardOverSwim`] = ratio(lg?.failedProbes, sw?.failedProbes)
  ratios[`failedProbeRate_loss${p * 100}_measuredOverAnalytic`] = ratio(sw?.failedProbeRate, sw?.analyticFailedProbeRate)
}
{
  const lg = find(results.slow!, (r) => r.lifeguard === true)
  const sw = find(results.slow!, (r) => r.lifeguard === false)
  ratios.slow_falsePositivesHealthy_lifeguardOverSwim = ratio(lg?.falsePositivesHealthy, sw?.falsePositivesHealthy)
  ratios.slow_failedProbesBySlow_lifeguardOverSwim = ratio(lg?.failedProbesBySlow, sw?.failedProbesBySlow)
}
for (const r of results.dissemination as Row[]) ratios[`dissemination_n${String(r.n)}_roundsOverLog2n`] = r.roundsPerLog2n as number
{
  type Det = { meanMs?: { firstSuspect: number; deadEverywhere: number } } | undefined
  const lg = find(results.detection!, (r) => r.n === 1000 && r.lifeguard === true) as Det
  const sw = find(results.detection!, (r) => r.n === 1000 && r.lifeguard === false) as Det
  ratios.detection_n1000_deadEverywhere_lifeguardOverSwim = ratio(lg?.meanMs?.deadEverywhere, sw?.meanMs?.deadEverywhere)
  ratios.detection_n1000_firstSuspect_overSwimExpected = ratio(lg?.meanMs?.firstSuspect, (LAN.probeIntervalMs * Math.E) / (Math.E - 1))
}
console.log(
  JSON.stringify({
    bench: 'gossip-sim',
    ...machine(),
    quick: QUICK,
    profile: { ...LAN, keys: undefined, listen: undefined, advertise: undefined },
    results,
    ratios,
    elapsedMs: Date.now() - started,
  }),
)
