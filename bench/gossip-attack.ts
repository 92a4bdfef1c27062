/**
 * The gossip TCP port under the full-size attacks of issue 10, against a real gossip node (a
 * Membership on UdpTransport, encrypted) in a child process, so its RSS is its own:
 *
 *  1. frames: 64 connections each announce a 16 MiB push-pull frame and send all of it;
 *     the node's RSS before, at its peak, 3 s after the connections closed and after a full GC
 *     there (garbage not yet collected vs memory still held); then the same
 *     with frames just under the default frame limit (2.7 MiB: only the shared budget stops them);
 *  2. slots: 64 idle connections held on the node (from 4 loopback addresses, each reopened
 *     50 ms after the node closes it), and a new node that uses it as its seed: time to join
 *     (capped at JOIN_CAP_MS).
 *
 * Each code tree given on the command line is measured in turn (a repository root run through
 * the TypeScript loader, or a built `dist/`), so the commit before the fix and this one compare
 * in one run:
 *
 *   node --import ./test/setup/ts-loader.mjs bench/gossip-attack.ts . /work/baseline/dist
 *
 * Prints one line per tree and a JSON summary line last. Loopback only.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { announceFrame, IdleConnections } from '../test/helpers/gossip-attacker.js'
import { machine } from './lib/machine.js'

const MiB = 1024 * 1024
const STREAMS = Number(process.env.ATTACK_STREAMS ?? 64)
const FRAME = Number(process.env.ATTACK_FRAME_BYTES ?? 16 * MiB)
/** Just under the default push-pull frame limit (1024 members × 2 × 1400 bytes): only the shared budget stops these. */
const UNDER = 1024 * 2 * 1400 - 4096
const JOIN_CAP_MS = Number(process.env.JOIN_CAP_MS ?? 30_000)
const ATTACKERS = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5']
const KEY = randomBytes(32)

/** A gossip config with the lan profile's timing, as normalize.ts fills it in (extra keys are ignored by older trees). */
function gossipConfig(seeds: string[]) {
  return {
    listen: { host: '127.0.0.1', port: 0 },
    advertise: { host: '127.0.0.1', port: 0 },
    seeds,
    keys: [KEY],
    cluster: 'bench',
    profile: 'lan',
    probeIntervalMs: 1000,
    probeTimeoutMs: 500,
    indirectChecks: 3,
    suspicionMult: 4,
    suspicionMaxTimeoutMult: 6,
    retransmitMult: 4,
    gossipIntervalMs: 200,
    gossipNodes: 3,
    pushPullIntervalMs: 30_000,
    tombstoneTimeoutMs: 60_000,
    mtu: 1400,
    lifeguard: true,
    healthQuorum: 2,
    maxMembers: 1024,
    maxInboundStreams: 64,
    maxStreamsPerSource: 16,
    streamHeaderTimeoutMs: 2_000,
    streamTimeoutMs: 10_000,
  }
}

interface Tree {
  Membership: new (o: object) => { start(): Promise<void>; stop(): Promise<void>; readonly address: { port: number } | undefined; readonly joined: boolean; stateOf(n: string): string | undefined }
  UdpTransport: new (o: object) => object
  seededRandom: (seed: number) => () => number
  systemClock: object
}

async function load(root: string): Promise<Tree> {
  // a built tree has .js; a source tree runs through the TypeScript loader
  const ext = /dist\/?$/.test(root) ? '.js' : '.ts'
  const mod = async (p: string) => (await import(pathToFileURL(resolve(root, p + ext)).href)) as Record<string, unknown>
  const [swim, udp, clock] = await Promise.all([mod('src/membership/swim'), mod('src/membership/udp-transport'), mod('src/clock')])
  return { Membership: swim.Membership, UdpTransport: udp.UdpTransport, seededRandom: clock.seededRandom, systemClock: clock.systemClock } as Tree
}

const silent = { debug() {}, info() {}, warn() {}, error() {} }

function startNode(tree: Tree, name: string, seeds: string[], key: Buffer) {
  return new tree.Membership({
    config: { ...gossipConfig(seeds), keys: [key] },
    node: { name },
    transport: new tree.UdpTransport({ listen: { host: '127.0.0.1', port: 0 } }),
    clock: tree.systemClock,
    random: tree.seededRandom(name.length),
    logger: silent,
  })
}

// ---------------------------------------------------------------- the node (child process)

async function nodeMain(root: string, keyB64: string): Promise<void> {
  const tree = await load(root)
  const m = startNode(tree, 'target', [], Buffer.from(keyB64, 'base64'))
  await m.start()
  process.stdout.write(JSON.stringify({ port: m.address!.port }) + '\n')
  // 'gc' on stdin: a full collection (the child runs with --expose-gc), to tell garbage not yet
  // collected from memory still held
  process.stdin.on('data', () => {
    ;(globalThis as { gc?: () => void }).gc?.()
    process.stdout.write('collected\n')
  })
  process.stdin.on('end', () => void m.stop().then(() => process.exit(0)))
}

// ---------------------------------------------------------------- the attacker (this process)

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m ? Math.round(Number(m[1]) / 1024) : NaN
}

async function spawnNode(root: string): Promise<{ child: ChildProcess; port: number }> {
  const self = fileURLToPath(import.meta.url)
  const child = spawn(process.execPath, [...process.execArgv, '--expose-gc', self, 'node', root, KEY.toString('base64')], { stdio: ['pipe', 'pipe', 'inherit'] })
  const port = await new Promise<number>((res, rej) => {
    child.stdout.once('data', (d: Buffer) => res((JSON.parse(d.toString()) as { port: number }).port))
    child.once('exit', (code) => rej(new Error(`node exited with ${code}`)))
  })
  return { child, port }
}

async function stopNode(child: ChildProcess): Promise<void> {
  const exited = new Promise<void>((r) => child.once('exit', () => r()))
  child.stdin!.end()
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
  await exited
  clearTimeout(timer)
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function frames(root: string, size: number) {
  const { child, port } = await spawnNode(root)
  await sleep(500)
  const before = rssMiB(child.pid!)
  let peak = before
  const sampler = setInterval(() => (peak = Math.max(peak, rssMiB(child.pid!))), 50)
  const started = Date.now()
  const results = await Promise.all(Array.from({ length: STREAMS }, (_, i) => announceFrame({ host: '127.0.0.1', port }, size, size, { localAddress: ATTACKERS[i % ATTACKERS.length] })))
  const attackMs = Date.now() - started
  await sleep(3000)
  clearInterval(sampler)
  const after = rssMiB(child.pid!)
  peak = Math.max(peak, after)
  const collected = new Promise((r) => child.stdout!.once('data', r))
  child.stdin!.write('gc\n')
  await collected
  await sleep(500)
  const afterGc = rssMiB(child.pid!)
  await stopNode(child)
  const writtenMiB = Math.round(results.reduce((s, r) => s + r.written, 0) / MiB)
  return { rssBeforeMiB: before, rssPeakMiB: peak, rssAfterMiB: after, rssAfterGcMiB: afterGc, attackMs, attackerWroteMiB: writtenMiB }
}

async function join(root: string) {
  const tree = await load(root)
  const { child, port } = await spawnNode(root)
  const idle = new IdleConnections({ host: '127.0.0.1', port }, STREAMS, { sources: ATTACKERS, reopenMs: 50 })
  await idle.start()
  await sleep(500)
  const joiner = startNode(tree, 'newcomer', [`127.0.0.1:${port}`], KEY)
  const started = Date.now()
  await joiner.start()
  while (!(joiner.joined && joiner.stateOf('target') === 'alive') && Date.now() - started < JOIN_CAP_MS) await sleep(10)
  const joinMs = joiner.joined ? Date.now() - started : null
  const held = idle.held
  idle.stop()
  await joiner.stop()
  await stopNode(child)
  return { joinMs, joinCapMs: JOIN_CAP_MS, idleHeld: held, idleOpened: idle.opened }
}

async function main(): Promise<void> {
  const roots = process.argv.slice(2)
  if (roots.length === 0) roots.push('.')
  const runs: Record<string, unknown> = {}
  for (const root of roots) {
    const f = await frames(root, FRAME)
    const u = await frames(root, UNDER)
    const j = await join(root)
    runs[root] = { frames: f, underLimit: u, join: j }
    const line = (x: typeof f) =>
      `RSS ${x.rssBeforeMiB} → peak ${x.rssPeakMiB} → after ${x.rssAfterMiB} MiB (${x.rssAfterGcMiB} after a full GC; attacker wrote ${x.attackerWroteMiB} MiB in ${x.attackMs} ms)`
    console.log(`${root}: ${STREAMS} × ${FRAME / MiB} MiB frames: ${line(f)}`)
    console.log(`${root}: ${STREAMS} × ${(UNDER / MiB).toFixed(2)} MiB frames (under the default limit): ${line(u)}`)
    console.log(`${root}: join with ${STREAMS} idle connections held: ${j.joinMs === null ? `not within ${JOIN_CAP_MS} ms` : `${j.joinMs} ms`}`)
  }
  console.log(JSON.stringify({ bench: 'gossip-attack', ...machine(), streams: STREAMS, frameBytes: FRAME, runs }))
}

if (process.argv[2] === 'node') await nodeMain(process.argv[3]!, process.argv[4]!)
else await main()
