/**
 * Mesh nodes as real commy processes (`node dist/src/main.js --config FILE`; `npm run build`
 * first). Each node's config comes from meshConfig() with info logs to stdout; its bound ports
 * (gossip, admin, outbound listener) are read from its log lines, and so is its view of the
 * members ('member state changed' lines), event-driven and timestamped as they arrive.
 * The admin API gives the member list and endpoints on demand.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import http from 'node:http'
import { createInterface } from 'node:readline'
import { assertBuilt, MAIN, ROOT, tempFile } from './cli.js'
import { meshConfig, type MeshNodeOptions } from './mesh.js'

export interface LogLine {
  /** Date.now() when the line arrived. */
  readonly t: number
  readonly msg?: string
  readonly [k: string]: unknown
}

export interface MemberRow {
  readonly name: string
  readonly state: string
  readonly incarnation: number
  readonly services: readonly string[]
}

export interface EndpointRow {
  readonly address: string
  readonly node: string | null
  readonly source: string
  readonly state: string
}

export class MeshProc {
  readonly lines: LogLine[] = []
  readonly stderr: string[] = []
  /** Member -> latest state this node logged (with when it arrived). */
  readonly view = new Map<string, { state: string; incarnation: number; t: number }>()
  gossipPort = 0
  adminPort = 0
  port = 0
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined
  private readonly waiters = new Set<() => void>()

  private constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    createInterface({ input: child.stdout! }).on('line', (text) => {
      let raw: Record<string, unknown>
      try {
        raw = JSON.parse(text) as Record<string, unknown>
      } catch {
        return
      }
      const line: LogLine = { ...raw, t: Date.now() }
      this.lines.push(line)
      this.follow(line)
      for (const w of [...this.waiters]) w()
    })
    createInterface({ input: child.stderr! }).on('line', (l) => this.stderr.push(l))
    child.on('exit', (code, signal) => {
      this.exit = { code, signal }
      for (const w of [...this.waiters]) w()
    })
  }

  /** Starts a node and waits until gossip has started (ports known). */
  static async start(options: MeshNodeOptions, timeoutMs = 15_000): Promise<MeshProc> {
    assertBuilt()
    const raw = meshConfig({ ...options, extra: { log: { level: 'info', accessLog: false }, limits: { drainTimeout: '2s', drainGrace: '0s' }, ...options.extra } })
    const file = tempFile('sidecar.yaml', JSON.stringify(raw))
    const child = spawn(process.execPath, [MAIN, '--config', file], { cwd: ROOT, env: { ...process.env, NODE_OPTIONS: '' }, stdio: ['ignore', 'pipe', 'pipe'] })
    const p = new MeshProc(options.name, child)
    try {
      await p.until(() => p.lines.some((l) => l.msg === 'gossip plugin started'), timeoutMs, 'gossip started')
    } catch (err) {
      // a node that did not come up is not left running behind the failed test
      await p.kill()
      throw new Error(`${(err as Error).message}; last log lines: ${p.lines.slice(-3).map((l) => l.msg).join(' | ')}`, { cause: err })
    }
    return p
  }

  private follow(l: LogLine): void {
    const port = (address: unknown) => Number(/:(\d+)$/.exec(String(address))?.[1] ?? 0)
    if (l.msg === 'gossip started') this.gossipPort = port(l.address)
    else if (l.msg === 'admin server listening') this.adminPort = port(l.address)
    else if (l.msg === 'listening' && l.listener === 'outbound') this.port = port(l.address)
    else if (l.msg === 'member state changed') this.view.set(String(l.member), { state: String(l.to), incarnation: Number(l.incarnation), t: l.t })
  }

  get seed(): string {
    return `127.0.0.1:${this.gossipPort}`
  }

  get exited(): boolean {
    return this.exit !== undefined
  }

  state(member: string): string | undefined {
    return this.view.get(member)?.state
  }

  /** 'member state changed' lines about `member` (optionally only to `state`). */
  changes(member: string, state?: string): LogLine[] {
    return this.lines.filter((l) => l.msg === 'member state changed' && l.member === member && (state === undefined || l.to === state))
  }

  signal(sig: NodeJS.Signals): void {
    if (!this.exited) this.child.kill(sig)
  }

  /** Resolves when `cond` holds (checked on every log line and at exit); rejects after `ms`. */
  until(cond: () => boolean, ms: number, what: string): Promise<void> {
    if (cond()) return Promise.resolve()
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!cond()) return
        clearTimeout(timer)
        this.waiters.delete(check)
        resolve()
      }
      const timer = setTimeout(() => {
        this.waiters.delete(check)
        reject(new Error(`${this.name}: ${what} not reached within ${ms} ms; stderr: ${this.stderr.slice(-5).join(' | ')}`))
      }, ms)
      this.waiters.add(check)
    })
  }

  /** GET on the admin API, JSON-decoded. */
  async admin<T>(path: string): Promise<T> {
    const res = await fetch(`http://127.0.0.1:${this.adminPort}${path}`, { signal: AbortSignal.timeout(5000) })
    return (await res.json()) as T
  }

  async members(): Promise<MemberRow[]> {
    return (await this.admin<{ members: MemberRow[] }>('/v1/members')).members
  }

  async endpoints(service: string): Promise<EndpointRow[]> {
    return (await this.admin<{ endpoints: EndpointRow[] }>(`/v1/endpoints?service=${service}`)).endpoints
  }

  /** SIGKILL (after SIGCONT, in case it is stopped) and wait for the exit. */
  async kill(): Promise<void> {
    if (this.exited) return
    this.child.kill('SIGCONT')
    this.child.kill('SIGKILL')
    await this.until(() => this.exited, 5000, 'exit')
  }
}

/** Waits until `cond` holds on every one of `procs` (event-driven on their log lines). Returns the elapsed ms. */
export async function untilAll(procs: readonly MeshProc[], cond: (p: MeshProc) => boolean, ms: number, what: string): Promise<number> {
  const start = Date.now()
  await Promise.all(procs.map((p) => p.until(() => cond(p), ms, what)))
  return Date.now() - start
}

export interface Reply {
  /** Date.now() when the answer (or error) came. */
  readonly t: number
  readonly status: number
  /** x-app of the answer ('' without one); the error message when the request failed. */
  readonly app: string
}

export interface Traffic {
  readonly replies: Reply[]
  stop(): Promise<void>
}

/**
 * Steady GETs of `path` through a node's listener from `concurrency` loops over keep-alive
 * connections, `pauseMs` apart in each loop (each request times out after 5 s), until stop().
 */
export function startTraffic(port: number, path: string, concurrency = 2, pauseMs = 20): Traffic {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency })
  const replies: Reply[] = []
  let running = true
  const one = () =>
    new Promise<void>((resolve) => {
      const req = http.get({ host: '127.0.0.1', port, path, agent }, (res) => {
        res.resume()
        res.on('end', () => {
          replies.push({ t: Date.now(), status: res.statusCode ?? 0, app: String(res.headers['x-app'] ?? '') })
          resolve()
        })
      })
      req.setTimeout(5000, () => req.destroy(new Error('timed out in test')))
      req.on('error', (err) => {
        replies.push({ t: Date.now(), status: 0, app: err.message })
        resolve()
      })
    })
  const loops = Array.from({ length: concurrency }, async () => {
    while (running) {
      await one()
      await new Promise((r) => setTimeout(r, pauseMs))
    }
  })
  return {
    replies,
    stop: async () => {
      running = false
      await Promise.all(loops)
      agent.destroy()
    },
  }
}
