/**
 * Runs the real CLI (`node dist/src/main.js`, built by `npm test` before tap) as a child process.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { tempDir } from './temp.js'

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
export const MAIN = join(ROOT, 'dist/src/main.js')

export function assertBuilt(): void {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first (npm test does)`)
}

export interface CliResult {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs the CLI to completion (killed after `timeoutMs`). */
export function runCli(args: readonly string[], options: { env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  assertBuilt()
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { cwd: options.cwd ?? ROOT, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 20_000)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr })
    })
  })
}

/** A temp file holding `text` (its directory is removed when the test process exits). */
export function tempFile(name: string, text: string): string {
  const dir = tempDir('commy-test-')
  const file = join(dir, name)
  writeFileSync(file, text)
  return file
}

export interface RunningCli {
  readonly child: ChildProcess
  /** stdout so far. */
  stdout(): string
  stderr(): string
  /** Resolves with the first stdout match of `re` (rejects after `ms`). */
  waitFor(re: RegExp, ms?: number): Promise<RegExpMatchArray>
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  /** SIGKILL if still running (teardown). */
  kill(): void
}

/** Starts a long-running CLI command (the sidecar, the demo); `prefix` runs node through a wrapper that execs it (e.g. prlimit). */
export function startCli(args: readonly string[], options: { env?: Record<string, string>; cwd?: string; prefix?: readonly string[] } = {}): RunningCli {
  assertBuilt()
  const [cmd, ...pre] = [...(options.prefix ?? []), process.execPath]
  const child = spawn(cmd, [...pre, MAIN, ...args], { cwd: options.cwd ?? ROOT, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  const waiters: (() => void)[] = []
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString()
    for (const w of waiters.splice(0)) w()
  })
  child.stderr.on('data', (d: Buffer) => (err += d.toString()))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })))
  let done = false
  void exited.then(() => {
    done = true
    for (const w of waiters.splice(0)) w()
  })
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    kill: () => {
      if (!done) child.kill('SIGKILL')
    },
    waitFor(re, ms = 10_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${re} in stdout:\n${out}\nstderr:\n${err}`)), ms)
        const check = () => {
          const m = out.match(re)
          if (m) {
            clearTimeout(timer)
            resolve(m)
          } else if (done) {
            clearTimeout(timer)
            reject(new Error(`process exited before ${re}; stdout:\n${out}\nstderr:\n${err}`))
          } else waiters.push(check)
        }
        check()
      })
    },
  }
}
