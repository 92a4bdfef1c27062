/**
 * One Membership over real UDP/TCP on 127.0.0.1, as its own process, for the process tests.
 *
 *   node gossip-node.ts <json options>   options: { name, port?, seeds?, key?, config? }
 *
 * Prints JSON lines on stdout: {"event":"ready","name","port"} once bound and joined (first
 * attempt), {"event":"change","member","state","incarnation","t"} for every change or update it
 * sees, {"event":"members","members":[...]} when asked. Reads commands from stdin, one per line:
 * `members`, `leave` (graceful leave, then exit 0), `meta <json NodeMeta>`.
 */
import { createInterface } from 'node:readline'
import { systemClock } from '../../src/clock.js'
import type { GossipConfig } from '../../src/config/types.js'
import type { NodeMeta } from '../../src/membership/member.js'
import { Membership, type GossipLogger, type MemberInfo } from '../../src/membership/swim.js'
import { UdpTransport } from '../../src/membership/udp-transport.js'
import { localGossipConfig } from './gossip-cluster.js'

interface NodeOptions {
  readonly name: string
  readonly port?: number
  readonly seeds?: string[]
  /** base64 */
  readonly key?: string
  readonly config?: Partial<GossipConfig>
}

const opts = JSON.parse(process.argv[2] ?? '{}') as NodeOptions
const out = (o: object): void => void process.stdout.write(`${JSON.stringify({ ...o, t: Date.now() })}\n`)
const logger: GossipLogger = {
  debug() {},
  info() {},
  warn: (o, msg) => void process.stderr.write(`${JSON.stringify({ level: 'warn', name: opts.name, msg, ...o })}\n`),
  error: (o, msg) => void process.stderr.write(`${JSON.stringify({ level: 'error', name: opts.name, msg, ...o })}\n`),
}

const listen = { host: '127.0.0.1', port: opts.port ?? 0 }
const config: GossipConfig = {
  ...localGossipConfig({ cluster: 'proc-test' }),
  listen,
  advertise: listen,
  seeds: opts.seeds ?? [],
  keys: opts.key ? [Buffer.from(opts.key, 'base64')] : [],
  ...opts.config,
}
const membership = new Membership({
  config,
  node: { name: opts.name },
  transport: new UdpTransport({ listen }),
  clock: systemClock,
  random: Math.random,
  logger,
})

const report = (m: MemberInfo): void => out({ event: 'change', member: m.name, state: m.state, incarnation: m.incarnation })
membership.on('change', report)
membership.on('update', report)

await membership.start()
out({ event: 'ready', name: opts.name, port: membership.address!.port })

const rl = createInterface({ input: process.stdin })
rl.on('line', (line) => {
  const [cmd, ...rest] = line.trim().split(' ')
  if (cmd === 'members') out({ event: 'members', members: membership.members().map((m) => ({ name: m.name, state: m.state, incarnation: m.incarnation })) })
  else if (cmd === 'meta') membership.setLocalMeta(JSON.parse(rest.join(' ')) as NodeMeta)
  else if (cmd === 'leave') {
    void membership.stop().then(() => {
      out({ event: 'left' })
      process.exit(0)
    })
  }
})
rl.on('close', () => void membership.halt().then(() => process.exit(0)))
process.on('SIGTERM', () => void membership.halt().then(() => process.exit(0)))
