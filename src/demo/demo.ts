/**
 * `commy demo`: a small gossiping mesh in one process — three echo services (users, payments,
 * inventory) with a commy sidecar beside each. No sidecar lists another's address: each one
 * announces its own app (`local.services`, health-checked on /health by that sidecar alone) over
 * encrypted gossip (a fresh key per run, `local` timing profile), and every sidecar learns the
 * three services from its peers. Every sidecar routes by Host and by path prefix to all three
 * services and has its admin server and dashboard (members, endpoints, health). Prints the
 * dashboard URLs and curl commands to try.
 */
import { randomBytes } from 'node:crypto'
import { parseConfig } from '../config/load.js'
import type { SidecarConfig } from '../config/types.js'
import { Runtime } from '../runtime.js'
import type { Sidecar } from '../sidecar.js'
import { EchoService } from './echo.js'

export const DEMO_SERVICES = ['users', 'payments', 'inventory'] as const

export interface DemoOptions {
  readonly host?: string
  /** First echo port (users; payments +1, inventory +2); 0 = ephemeral ports. Default 9101. */
  readonly servicePort?: number
  /** First sidecar port (users' sidecar; +1, +2 for the others); 0 = ephemeral. Default 15101. */
  readonly sidecarPort?: number
  /** First admin/dashboard port (+1, +2 for the others); 0 = ephemeral. Default 15111 (0 when sidecarPort is 0). */
  readonly adminPort?: number
  /** First gossip port (UDP and TCP; +1, +2 for the others); 0 = ephemeral. Default 15121 (0 when sidecarPort is 0). */
  readonly gossipPort?: number
  /** How long start waits for every sidecar to learn every service over gossip (default 10 s). */
  readonly convergeTimeoutMs?: number
  /** Log level of the sidecars (access log lines are printed at info). */
  readonly logLevel?: SidecarConfig['log']['level']
  readonly accessLog?: boolean
}

export interface Demo {
  readonly services: readonly EchoService[]
  readonly sidecars: readonly Sidecar[]
  /** The sidecars with their admin servers. */
  readonly runtimes: readonly Runtime[]
  /** Dashboard URL of each sidecar (`http://host:port/`), in DEMO_SERVICES order. */
  readonly dashboards: readonly string[]
  /** What to print: addresses and curl commands. */
  readonly instructions: string
  stop(): Promise<void>
}

const port = (base: number, i: number) => (base === 0 ? 0 : base + i)

export interface DemoNodeOptions {
  /** The service beside this sidecar (one of DEMO_SERVICES). */
  readonly self: string
  readonly host: string
  readonly listenPort: number
  /** Port of the echo service beside this sidecar (announced over gossip). */
  readonly servicePort: number
  readonly adminPort: number
  readonly gossipPort: number
  /** Gossip seeds (`host:port`); none for the first sidecar. */
  readonly seeds: readonly string[]
  /** Gossip key (base64). */
  readonly key: string
  readonly logLevel: string
  readonly accessLog: boolean
}

/** The sidecar.yaml of the sidecar beside `self` (as JSON, which is YAML). */
export function demoConfig(o: DemoNodeOptions): string {
  const services: Record<string, unknown> = {}
  // no static endpoints: every service's endpoints come from gossip
  for (const name of DEMO_SERVICES) services[name] = { strategy: 'round-robin', upstream: { connectTimeout: '1s' } }
  const routes = [
    ...DEMO_SERVICES.map((name) => ({ name: `host-${name}`, match: { host: name }, service: name, timeout: '5s' })),
    ...DEMO_SERVICES.map((name) => ({
      name: `path-${name}`,
      match: { pathPrefix: `/${name}` },
      service: name,
      timeout: '5s',
      retries: { attempts: 2, perTryTimeout: '2s', on: ['connect-failure', 'reset', '503'] },
    })),
  ]
  return JSON.stringify({
    node: { name: `${o.self}-sidecar`, zone: 'zone-1' },
    admin: { listen: `${o.host}:${o.adminPort}` },
    log: { level: o.logLevel, accessLog: o.accessLog },
    limits: { drainTimeout: '5s', drainGrace: '0s' },
    listeners: [{ name: 'outbound', listen: `${o.host}:${o.listenPort}`, routes }],
    services,
    gossip: { listen: `${o.host}:${o.gossipPort}`, seeds: o.seeds, key: o.key, cluster: 'commy-demo', profile: 'local' },
    local: {
      services: [{ name: o.self, address: `${o.host}:${o.servicePort}`, healthCheck: { http: { path: '/health' }, interval: '2s', timeout: '1s' } }],
    },
  })
}

/** True once every sidecar has an endpoint for every demo service. */
function converged(runtimes: readonly Runtime[]): boolean {
  return runtimes.every((r) => DEMO_SERVICES.every((s) => (r.sidecar.registry.service(s)?.snapshot.all.length ?? 0) > 0))
}

export async function startDemo(options: DemoOptions = {}): Promise<Demo> {
  const host = options.host ?? '127.0.0.1'
  const servicePort = options.servicePort ?? 9101
  const sidecarPort = options.sidecarPort ?? 15101
  const adminPort = options.adminPort ?? (sidecarPort === 0 ? 0 : 15111)
  const gossipPort = options.gossipPort ?? (sidecarPort === 0 ? 0 : 15121)
  const key = randomBytes(32).toString('base64')
  const services = DEMO_SERVICES.map((name, i) => new EchoService(name, host, port(servicePort, i)))
  const runtimes: Runtime[] = []
  const stop = async () => {
    await Promise.all(runtimes.map((r) => r.drain()))
    await Promise.all(runtimes.map((r) => r.stop()))
    await Promise.all(services.map((s) => s.stop()))
  }
  try {
    for (const s of services) await s.start()
    let seeds: string[] = []
    for (const [i, name] of DEMO_SERVICES.entries()) {
      const text = demoConfig({
        self: name,
        host,
        listenPort: port(sidecarPort, i),
        servicePort: services[i]!.port,
        adminPort: port(adminPort, i),
        gossipPort: port(gossipPort, i),
        seeds,
        key,
        logLevel: options.logLevel ?? 'warn',
        accessLog: options.accessLog ?? true,
      })
      const file = `demo:${name}`
      const runtime = new Runtime({ config: parseConfig(text, file), loadConfig: () => parseConfig(text, file) })
      runtimes.push(runtime)
      await runtime.start()
      // the first sidecar is the seed of the others
      const at = runtime.gossip?.address()
      if (i === 0 && at !== undefined) seeds = [`${at.host}:${at.port}`]
    }
    const deadline = Date.now() + (options.convergeTimeoutMs ?? 10_000)
    while (!converged(runtimes) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
  } catch (err) {
    await stop()
    throw err
  }
  const sidecars = runtimes.map((r) => r.sidecar)
  const dashboards = runtimes.map((r) => `${r.admin.url() ?? ''}/`)
  return { services, sidecars, runtimes, dashboards, instructions: instructions(services, sidecars, dashboards), stop }
}

function instructions(services: readonly EchoService[], sidecars: readonly Sidecar[], dashboards: readonly string[]): string {
  const lines: string[] = [
    'commy demo: three echo services, each with a commy sidecar beside it; the sidecars find each',
    "other's services over encrypted gossip (no addresses in their configs)",
    '',
  ]
  services.forEach((s, i) => {
    const a = sidecars[i]!.address()
    lines.push(`  ${s.name.padEnd(10)} service 127.0.0.1:${s.port}   sidecar http://${a.host}:${a.port}   dashboard ${dashboards[i]}`)
  })
  lines.push('', `Dashboard (users' sidecar): ${dashboards[0]}`)
  const users = sidecars[0]!.address()
  const payments = sidecars[1]!.address()
  const base = `http://${users.host}:${users.port}`
  lines.push(
    '',
    'Try (users calls the others through its sidecar):',
    `  curl -s -H 'host: payments' ${base}/charge`,
    `  curl -s -H 'host: inventory' ${base}/items/42`,
    `  curl -s ${base}/payments/refund -d '{"amount": 5}'`,
    `  curl -s -H 'host: nowhere' ${base}/           # no route: 404 with a JSON error`,
    `  curl -s -H 'host: users' http://${payments.host}:${payments.port}/profile   # payments' sidecar`,
    `  curl -s ${dashboards[0]}v1/members      # the gossip members as the users sidecar sees them`,
    '',
    'Each sidecar prints one access-log line per request. Ctrl-C stops everything.',
  )
  return lines.join('\n')
}
