/**
 * Runs test/helpers/gossip-node.ts as child processes (transpiled once to a temporary directory)
 * and follows what each one reports: its bound port and its view of every member.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
import { removeTempDir, tempDir } from './temp.js'

const SCRIPT = fileURLToPath(new URL('./gossip-node.ts', import.meta.url))
const ROOT = path.resolve(path.dirname(SCRIPT), '../..')

let compiled: { dir: string; script: string } | undefined

/**
 * Transpiles gossip-node.ts and every module it reaches by relative import into a temporary
 * directory, once per test process, so each child starts as plain JavaScript in ~100 ms instead
 * of loading the TypeScript compiler itself.
 */
function compile(): string {
  if (compiled) return compiled.script
  const dir = tempDir('commy-gossip-node-')
  writeFileSync(path.join(dir, 'package.json'), '{"type":"module"}')
  const todo = [SCRIPT]
  const done = new Set<string>()
  while (todo.length > 0) {
    const file = todo.pop()!
    if (done.has(file)) continue
    done.add(file)
    const source = readFileSync(file, 'utf8')
    const out = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: false },
      fileName: file,
    }).outputText
    const target = path.join(dir, path.relative(ROOT, file)).replace(/\.ts$/, '.js')
    mkdirSync(path.dirname(target), { recursive: true })
    writeFileSync(target, out)
    for (const m of out.matchAll(/(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)\.js['"]/g)) todo.push(path.resolve(path.dirname(file), `${m[1]}.ts`))
  }
  compiled = { dir, script: path.join(dir, path.relative(ROOT, SCRIPT)).replace(/\.ts$/, '.js') }
  return compiled.script
}

/** Removes the transpiled copy (call from the test's teardown). */
export function removeCompiled(): void {
  if (compiled) removeTempDir(compiled.dir)
  compiled = undefined
}

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
    const child = spawn(process.execPath, [compile(), JSON.stringify(spec)], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, NODE_OPTIONS: '' },
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
