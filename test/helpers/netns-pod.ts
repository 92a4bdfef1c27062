/**
 * A commy "pod" in a network namespace (test/helpers/netns.ts): the built CLI started with a
 * sidecar.yaml and the env a pod gets (POD_IP, POD_NAME, the gossip key), as
 * `ip netns exec NS node dist/src/main.js --config FILE`. Its view of the members comes from its
 * log lines ('member state changed'), timestamped as they arrive; its probe listener is reached
 * from the test process at the pod address, as the kubelet reaches it.
 */
import type { ChildProcess } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { createLeaf, type PemPair } from '../../src/tls/pki.js'
import { assertBuilt, MAIN, ROOT } from './cli.js'
import type { NetnsNetwork, NetnsNode } from './netns.js'
import { tempDir } from './temp.js'

/** The Kubernetes ConfigMap's sidecar.yaml (kustomize's configMapGenerator reads this file). */
export const K8S_SIDECAR = `${ROOT}/deploy/kubernetes/base/sidecar.yaml`

export interface PodLine {
  readonly t: number
  readonly msg?: string
  readonly [k: string]: unknown
}

export interface PodOptions {
  readonly config: string
  /** Variables besides PATH, POD_IP and POD_NAME. */
  readonly env?: Readonly<Record<string, string>>
  /** Port of the probe listener (`probes.listen` in the config). */
  readonly probePort?: number
}

/** Runs a script of test/fixtures/netns/ (TypeScript, through the test loader) in node i's namespace. */
export function spawnFixture(net: NetnsNetwork, i: number, script: string, args: readonly string[], env: Readonly<Record<string, string>> = {}): ChildProcess {
  const child = net.spawn(i, process.execPath, ['--import', `${ROOT}/test/setup/ts-loader.mjs`, `${ROOT}/test/fixtures/netns/${script}`, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  return child
}

export class Pod {
  readonly lines: PodLine[] = []
  readonly stderr: string[] = []
  /** Member -> latest state this pod logged. */
  readonly view = new Map<string, { state: string; t: number }>()
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined
  private readonly waiters = new Set<() => void>()

  private constructor(
    readonly name: string,
    readonly node: NetnsNode,
    readonly child: ChildProcess,
    private readonly probePort: number,
  ) {
    createInterface({ input: child.stdout! }).on('line', (text) => {
      let raw: Record<string, unknown>
      try {
        raw = JSON.parse(text) as Record<string, unknown>
      } catch {
        return
      }
      const line: PodLine = { ...raw, t: Date.now() }
      this.lines.push(line)
      if (line.msg === 'member state changed') this.view.set(String(line.member), { state: String(line.to), t: line.t })
      for (const w of [...this.waiters]) w()
    })
    createInterface({ input: child.stderr! }).on('line', (l) => this.stderr.push(l))
    child.on('exit', (code, signal) => {
      this.exit = { code, signal }
      for (const w of [...this.waiters]) w()
    })
  }

  /** Starts commy in node i's namespace as pod `name`; resolves once it logs that gossip started. */
  static async start(net: NetnsNetwork, i: number, name: string, options: PodOptions): Promise<Pod> {
    assertBuilt()
    const node = net.node(i)
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', POD_IP: node.ip, POD_NAME: name, ...options.env }
    const child = net.spawn(i, process.execPath, [MAIN, '--config', options.config], { cwd: ROOT, env })
    const pod = new Pod(name, node, child, options.probePort ?? 4191)
    await pod.until(() => pod.lines.some((l) => l.msg === 'gossip started'), 45_000, 'gossip started')
    return pod
  }

  state(member: string): string | undefined {
    return this.view.get(member)?.state
  }

  /** 'member state changed' lines about `member` (optionally only those to `state`). */
  changes(member: string, state?: string): PodLine[] {
    return this.lines.filter((l) => l.msg === 'member state changed' && l.member === member && (state === undefined || l.to === state))
  }

  /** Members this pod holds alive (itself included once it logged itself). */
  alive(): string[] {
    return [...this.view].filter(([, v]) => v.state === 'alive').map(([k]) => k)
  }

  /** GET a probe path at the pod address from outside the namespace; the status (0: no answer). */
  async probe(path: '/healthz' | '/readyz' | '/metrics'): Promise<number> {
    try {
      const res = await fetch(`http://${this.node.ip}:${this.probePort}${path}`, { signal: AbortSignal.timeout(2000) })
      await res.arrayBuffer()
      return res.status
    } catch {
      return 0
    }
  }

  /** Resolves when `cond` holds (checked on every log line and at exit); rejects after `ms`. */
  until(cond: () => boolean, ms: number, what: string): Promise<void> {
    if (cond()) return Promise.resolve()
    return new Promise((resolve, reject) => {
      const check = () => {
        if (this.exit !== undefined && !cond()) {
          finish()
          reject(new Error(`${this.name} exited (${JSON.stringify(this.exit)}) before ${what}; stderr: ${this.stderr.slice(-5).join(' | ')}`))
        } else if (cond()) {
          finish()
          resolve()
        }
      }
      const finish = () => {
        clearTimeout(timer)
        this.waiters.delete(check)
      }
      const timer = setTimeout(() => {
        this.waiters.delete(check)
        reject(new Error(`${this.name}: ${what} not reached within ${ms} ms; stderr: ${this.stderr.slice(-5).join(' | ')}`))
      }, ms)
      this.waiters.add(check)
    })
  }

  stop(): void {
    if (this.exit === undefined) this.child.kill('SIGKILL')
  }
}

/**
 * The mesh certificate a pod of `service` mounts (ca.pem, cert.pem, key.pem in a temp directory,
 * its COMMY_TLS_DIR), as `commy cert create --service SERVICE` makes it, signed by `ca`.
 */
export async function tlsDir(service: string, ca: PemPair): Promise<string> {
  const dir = tempDir(`commy-pod-${service}-`)
  const leaf = await createLeaf(ca, { service, days: 1 })
  writeFileSync(join(dir, 'ca.pem'), ca.cert)
  writeFileSync(join(dir, 'cert.pem'), leaf.cert)
  writeFileSync(join(dir, 'key.pem'), leaf.key)
  return dir
}
