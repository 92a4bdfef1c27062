/**
 * `commy demo`: a small local mesh in one process — three echo services (users, payments,
 * inventory) with a commy sidecar beside each. Every sidecar routes by Host and by path prefix to
 * all three services (static endpoints: the ones sidecar.yaml lists, health-checked on /health)
 * and has its admin server and dashboard. Prints the dashboard URLs and curl commands to try.
 */
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

/** The sidecar.yaml of the sidecar beside `self` (as JSON, which is YAML). */
export function demoConfig(
  self: string,
  host: string,
  listenPort: number,
  servicePorts: readonly number[],
  logLevel: string,
  accessLog: boolean,
  adminPort = 0,
): string {
  const services: Record<string, unknown> = {}
  DEMO_SERVICES.forEach((name, i) => {
    services[name] = {
      strategy: 'round-robin',
      endpoints: [{ address: `${host}:${servicePorts[i]}`, zone: 'zone-1' }],
      upstream: { connectTimeout: '1s' },
      healthCheck: { http: { path: '/health' }, interval: '2s', timeout: '1s' },
    }
  })
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
    node: { name: `${self}-sidecar`, zone: 'zone-1' },
    admin: { listen: `${host}:${adminPort}` },
    log: { level: logLevel, accessLog },
    limits: { drainTimeout: '5s', drainGrace: '0s' },
    listeners: [{ name: 'outbound', listen: `${host}:${listenPort}`, routes }],
    services,
  })
}

export async function startDemo(options: DemoOptions = {}): Promise<Demo> {
  const host = options.host ?? '127.0.0.1'
  const servicePort = options.servicePort ?? 9101
  const sidecarPort = options.sidecarPort ?? 15101
  const adminPort = options.adminPort ?? (sidecarPort === 0 ? 0 : 15111)
  const services = DEMO_SERVICES.map((name, i) => new EchoService(name, host, port(servicePort, i)))
  const runtimes: Runtime[] = []
  const stop = async () => {
    await Promise.all(runtimes.map((r) => r.drain()))
    await Promise.all(runtimes.map((r) => r.stop()))
    await Promise.all(services.map((s) => s.stop()))
  }
  try {
    for (const s of services) await s.start()
    const ports = services.map((s) => s.port)
    for (const [i, name] of DEMO_SERVICES.entries()) {
      const text = demoConfig(name, host, port(sidecarPort, i), ports, options.logLevel ?? 'warn', options.accessLog ?? true, port(adminPort, i))
      const file = `demo:${name}`
      const runtime = new Runtime({ config: parseConfig(text, file), loadConfig: () => parseConfig(text, file) })
      runtimes.push(runtime)
      await runtime.start()
    }
  } catch (err) {
    await stop()
    throw err
  }
  const sidecars = runtimes.map((r) => r.sidecar)
  const dashboards = runtimes.map((r) => `${r.admin.url() ?? ''}/`)
  return { services, sidecars, runtimes, dashboards, instructions: instructions(services, sidecars, dashboards), stop }
}

function instructions(services: readonly EchoService[], sidecars: readonly Sidecar[], dashboards: readonly string[]): string {
  const lines: string[] = ['commy demo: three echo services, each with a commy sidecar beside it', '']
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
    '',
    'Each sidecar prints one access-log line per request. Ctrl-C stops everything.',
  )
  return lines.join('\n')
}
