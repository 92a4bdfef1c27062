/**
 * Runs test/helpers/gossip-node.ts as child processes (with the TypeScript loader the test runs
 * under) and follows what each one reports: its bound port and its view of every member.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

const SCRIPT = fileURLToPath(new URL('./gossip-node.ts', import.meta.url))

export interface ProcEvent {
  readonly event: string
  readonly t: number
  readonly [k: string]: unknown
}

export interface NodeSpec {
  readonly name: string
  readonly port?: number
  readonly seeds?: string[]
  readonly key?: string
}

export class GossipProc {
  readonly events: ProcEvent[] = []
  /** member -> latest state and incarnation this process reported. */
  readonly view = new Map<string, { state: string; incarnation: number; t: number }>()
  port = 0
  exited = false
  private readonly waiters = new Set<() => void>()
  readonly stderr: string[] = []

  private constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let e: ProcEvent
      try {
        e = JSON.parse(line) as ProcEvent
      } catch {
        return
      }
      this.events.push(e)
      if (e.event === 'ready') {
        this.port = e.port as number
        this.view.set(name, { state: 'alive', incarnation: 0, t: e.t })
      }
      if (e.event === 'change') this.view.set(e.member as string, { state: e.state as string, incarnation: e.incarnation as number, t: e.t })
      for (const w of this.waiters) w()
    })
    createInterface({ input: child.stderr! }).on('line', (l) => this.stderr.push(l))
    child.on('exit', () => {
      this.exited = true
      for (const w of this.waiters) w()
    })
  }

  static async start(spec: NodeSpec, readyTimeoutMs = 20_000): Promise<GossipProc> {
    // only the TypeScript loader: no coverage or mock hooks in the children
    const execArgv = process.execArgv.filter((a) => a.includes('@tapjs/typescript') || a === '--enable-source-maps')
    const child = spawn(process.execPath, [...execArgv, SCRIPT, JSON.stringify(spec)], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, NODE_OPTIONS: '', TS_NODE_TRANSPILE_ONLY: '1' },
    })
    const p = new GossipProc(spec.name, child)
    await p.until(() => p.port !== 0, readyTimeoutMs, `${spec.name} ready`)
    return p
  }

  state(member: string): string | undefined {
    return this.view.get(member)?.state
  }

  send(line: string): void {
    this.child.stdin!.write(`${line}\n`)
  }

  signal(sig: NodeJS.Signals): void {
    if (!this.exited) this.child.kill(sig)
  }

  /** Resolves when `cond` holds; rejects after `timeoutMs`. */
  until(cond: () => boolean, timeoutMs: number, what = 'condition'): Promise<void> {
    if (cond()) return Promise.resolve()
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!cond()) return
        clearTimeout(timer)
        this.waiters.delete(check)
        resolve()
      }
      const timer = setTimeout(() => {
        this.waiters.delete(check)
        reject(new Error(`${this.name}: ${what} not reached within ${timeoutMs} ms; stderr: ${this.stderr.slice(-5).join(' | ')}`))
      }, timeoutMs)
      this.waiters.add(check)
    })
  }

  /** Ends the process (SIGKILL after SIGCONT, in case it was stopped) and waits for it. */
  async kill(): Promise<void> {
    if (this.exited) return
    this.child.kill('SIGCONT')
    this.child.kill('SIGKILL')
    await this.until(() => this.exited, 5000, 'exit')
  }
}

/** Resolves when `cond` holds across processes (polling every 10 ms); returns the elapsed ms. */
export async function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<number> {
  const start = Date.now()
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error(`${what} not reached within ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 10))
  }
  return Date.now() - start
}
