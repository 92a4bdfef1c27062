/**
 * `commy demo`: a small gossiping mesh in one process — three echo services (users, payments,
 * inventory; payments twice, so one replica can fail while the other serves) with a commy sidecar
 * beside each. No sidecar lists another's address: each one
 * announces its own app (`local.services`, health-checked on /health by that sidecar alone) over
 * encrypted gossip (a fresh key per run, `local` timing profile), and every sidecar learns the
 * three services from its peers. Every sidecar routes by Host and by path prefix to all three
 * services and has its admin server and dashboard (members, endpoints, health). Prints the
 * dashboard URLs and curl commands to try, with the echo services' failure knobs (knobs.ts:
 * `POST /fail?rate=0.5`, `/slow?ms=300`): retries hiding a failing replica, its breaker opening,
 * its ejection, panic mode when every payments replica fails, and the alerts of each.
 */
import { randomBytes } from 'node:crypto'
import { parseConfig } from '../config/load.js'
import type { SidecarConfig } from '../config/types.js'
import { Runtime } from '../runtime.js'
import type { Sidecar } from '../sidecar.js'
import { EchoService } from './echo.js'

export const DEMO_SERVICES = ['users', 'payments', 'inventory'] as const

/** One sidecar and its echo service each, in port order (payments-2 last: the first three keep their ports). */
export const DEMO_NODES: readonly { readonly node: string; readonly service: (typeof DEMO_SERVICES)[number] }[] = [
  { node: 'users', service: 'users' },
  { node: 'payments', service: 'payments' },
  { node: 'inventory', service: 'inventory' },
  { node: 'payments-2', service: 'payments' },
]

export interface DemoOptions {
  readonly host?: string
  /** First echo port (users; payments +1, inventory +2, payments-2 +3); 0 = ephemeral ports. Default 9101. */
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
  /** Log format of the sidecars (default text: the demo runs in a terminal). */
  readonly logFormat?: 'json' | 'text'
}

export interface Demo {
  /** The echo services, in DEMO_NODES order. */
  readonly services: readonly EchoService[]
  readonly sidecars: readonly Sidecar[]
  /** The sidecars with their admin servers. */
  readonly runtimes: readonly Runtime[]
  /** Dashboard URL of each sidecar (`http://host:port/`), in DEMO_NODES order. */
  readonly dashboards: readonly string[]
  /** What to print: addresses and curl commands. */
  readonly instructions: string
  stop(): Promise<void>
}

const port = (base: number, i: number) => (base === 0 ? 0 : base + i)

export interface DemoNodeOptions {
  /** This sidecar's node (its name is `<self>-sidecar`). */
  readonly self: string
  /** The service beside it (one of DEMO_SERVICES; default `self`). */
  readonly service?: string
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
  readonly logFormat?: 'json' | 'text'
}

/** The sidecar.yaml of the sidecar beside `self` (as JSON, which is YAML). */
export function demoConfig(o: DemoNodeOptions): string {
  const services: Record<string, unknown> = {}
  // no static endpoints: every service's endpoints come from gossip
  // ejections short enough to watch one end
  for (const name of DEMO_SERVICES) services[name] = { strategy: 'round-robin', upstream: { connectTimeout: '1s' }, outlierDetection: { baseEjectionTime: '15s' } }
  const retries = { attempts: 2, perTryTimeout: '2s', on: ['connect-failure', 'reset', '503'] }
  const routes = [
    ...DEMO_SERVICES.map((name) => ({ name: `host-${name}`, match: { host: name }, service: name, timeout: '5s', retries })),
    ...DEMO_SERVICES.map((name) => ({ name: `path-${name}`, match: { pathPrefix: `/${name}` }, service: name, timeout: '5s', retries })),
  ]
  const service = o.service ?? o.self
  return JSON.stringify({
    node: { name: `${o.self}-sidecar`, zone: 'zone-1' },
    admin: { listen: `${o.host}:${o.adminPort}` },
    log: { level: o.logLevel, accessLog: o.accessLog, format: o.logFormat ?? 'text' },
    limits: { drainTimeout: '5s', drainGrace: '0s' },
    listeners: [{ name: 'outbound', listen: `${o.host}:${o.listenPort}`, routes }],
    services,
    gossip: { listen: `${o.host}:${o.gossipPort}`, seeds: o.seeds, key: o.key, cluster: 'commy-demo', profile: 'local' },
    local: {
      services: [{ name: service, address: `${o.host}:${o.servicePort}`, healthCheck: { http: { path: '/health' }, interval: '2s', timeout: '1s' } }],
    },
    // what the failure knobs make fire (dashboard, GET /v1/alerts, the log)
    alerts: {
      rules: [
        { name: 'errors', when: 'error-rate', above: '10%' },
        { name: 'breaker', when: 'breaker-open' },
        { name: 'unhealthy', when: 'endpoint-unhealthy' },
        { name: 'no-healthy', when: 'no-healthy-endpoint' },
      ],
    },
  })
}

/** True once every sidecar has every demo node's endpoint. */
function converged(runtimes: readonly Runtime[]): boolean {
  const want = (s: string) => DEMO_NODES.filter((n) => n.service === s).length
  return runtimes.every((r) => DEMO_SERVICES.every((s) => (r.sidecar.registry.service(s)?.snapshot.all.length ?? 0) >= want(s)))
}

export async function startDemo(options: DemoOptions = {}): Promise<Demo> {
  const host = options.host ?? '127.0.0.1'
  const servicePort = options.servicePort ?? 9101
  const sidecarPort = options.sidecarPort ?? 15101
  const adminPort = options.adminPort ?? (sidecarPort === 0 ? 0 : 15111)
  const gossipPort = options.gossipPort ?? (sidecarPort === 0 ? 0 : 15121)
  const key = randomBytes(32).toString('base64')
  const services = DEMO_NODES.map((n, i) => new EchoService(n.service, host, port(servicePort, i)))
  const runtimes: Runtime[] = []
  const stop = async () => {
    await Promise.all(runtimes.map((r) => r.drain()))
    await Promise.all(runtimes.map((r) => r.stop()))
    await Promise.all(services.map((s) => s.stop()))
  }
  try {
    for (const s of services) await s.start()
    let seeds: string[] = []
    for (const [i, { node: name, service }] of DEMO_NODES.entries()) {
      const text = demoConfig({
        self: name,
        service,
        host,
        listenPort: port(sidecarPort, i),
        servicePort: services[i]!.port,
        adminPort: port(adminPort, i),
        gossipPort: port(gossipPort, i),
        seeds,
        key,
        logLevel: options.logLevel ?? 'warn',
        accessLog: options.accessLog ?? true,
        logFormat: options.logFormat,
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
    lines.push(`  ${(DEMO_NODES[i]?.node ?? s.name).padEnd(10)} service 127.0.0.1:${s.port}   sidecar http://${a.host}:${a.port}   dashboard ${dashboards[i]}`)
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
    ...breakThings(services, base, dashboards[0] ?? ''),
    '',
    'Each sidecar prints one access-log line per request. Ctrl-C stops everything.',
  )
  return lines.join('\n')
}

/** The failure-knob part of the banner: what to run, and what to look at. */
function breakThings(services: readonly EchoService[], base: string, dashboard: string): string[] {
  const knob = (i: number, q: string) => `curl -s -XPOST 'http://127.0.0.1:${services[i]?.port ?? 0}/${q}'`
  return [
    'Break things (every echo service has failure knobs; watch the dashboard and the log):',
    `  while true; do curl -s -o /dev/null -H 'host: payments' ${base}/charge; sleep 0.05; done   # traffic, in another terminal`,
    `  ${knob(3, 'fail?rate=0.5')}   # payments-2 answers 503 to half: retries hide it from users,`,
    '      its breaker opens, it is ejected, the "errors" and "breaker" alerts fire',
    `  ${knob(1, 'fail?rate=1&health=1')}; ${knob(3, 'fail?rate=1&health=1')}`,
    '      # every payments replica fails its health check too: no healthy endpoint, panic mode',
    `  ${knob(3, 'slow?ms=300')}   # 300 ms slower: p99 and the latency figures move`,
    `  ${knob(1, 'fail?rate=0')}; ${knob(3, 'fail?rate=0')}; ${knob(3, 'slow?ms=0')}   # heal`,
    `  curl -s ${dashboard}v1/alerts   # the alerts fired and resolved`,
  ]
}
