/**
 * Shared pieces of the HTTP benches (`run.ts`, `strategies.ts`): child processes pinned with
 * taskset, the autocannon load role, CPU accounting of the proxy, and one measured scenario run.
 * Also the in-process ns/op timer of `admin-metrics.ts` and `health.ts`.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createRequire } from 'node:module'
import { existsSync, readFileSync } from 'node:fs'
import { cpus } from 'node:os'

export interface LoadResult {
  readonly rps: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly requests: number
  readonly errors: number
  readonly non2xx: number
}

/** One measured run through a proxy: the load result plus the proxy's CPU. */
export interface MeasuredRun extends LoadResult {
  readonly scenario: string
  /** CPU of the proxy process: 100 = one core. */
  readonly proxyCpuPct: number | undefined
  readonly proxyCpuUsPerRequest: number | undefined
}

export const round = (n: number, d = 2) => Math.round(n * 10 ** d) / 10 ** d
export const canPin = existsSync('/usr/bin/taskset') && cpus().length >= 2

/** Node with `args`, pinned to `cpu` when taskset is present (taskset execs, so the pid is node's). */
export function start(args: string[], cpu: number, extraEnv: Record<string, string> = {}): ChildProcess {
  const cmd = canPin ? 'taskset' : process.execPath
  const argv = canPin ? ['-c', String(cpu), process.execPath, ...args] : args
  return spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...extraEnv } })
}

/** The `listening` field of the first JSON line on stdout that has one of the expected shape. */
export function listening<T>(child: ChildProcess, isValid: (v: unknown) => v is T): Promise<T> {
  return new Promise((resolve, reject) => {
    let buf = ''
    const onData = (d: Buffer) => {
      buf += d.toString()
      for (const line of buf.split('\n')) {
        try {
          const j = JSON.parse(line) as { listening?: unknown }
          if (isValid(j.listening)) {
            child.stdout!.off('data', onData)
            child.stdout!.resume()
            return resolve(j.listening)
          }
        } catch {
          // not a JSON line: keep reading
        }
      }
    }
    child.stdout!.on('data', onData)
    child.once('exit', (code) => reject(new Error(`process exited (${code}) before listening`)))
  })
}

/** Waits for commy's "listening" log line (matched by `pattern`, port in group 1) in its log file. */
export async function commyPort(logFile: string, child: ChildProcess, pattern = /"address":"127\.0\.0\.1:(\d+)","msg":"listening"/): Promise<number> {
  const until = Date.now() + 10_000
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`commy exited with ${child.exitCode}`)
    if (existsSync(logFile)) {
      const m = pattern.exec(readFileSync(logFile, 'utf8'))
      if (m) return Number(m[1])
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error('commy did not start')
}

export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((r) => child.once('exit', () => r()))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
  await exited
  clearTimeout(timer)
}

/** utime + stime of a process in seconds (Linux), or undefined. */
export function cpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined || !existsSync(`/proc/${pid}/stat`)) return undefined
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}

type Autocannon = (opts: Record<string, unknown>) => {
  on(event: 'response', fn: (client: unknown, status: number, bytes: number, ms: number) => void): void
  then: Promise<{ errors: number; timeouts: number; non2xx: number; duration: number }>['then']
}

/** The `load` role: autocannon against `url`, one LoadResult JSON line on stdout. */
export async function runLoad(url: string, seconds: number, opts: Record<string, unknown>): Promise<void> {
  const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon
  const times: number[] = []
  const instance = autocannon({ url, duration: seconds, pipelining: 1, ...opts })
  instance.on('response', (_c, status, _b, ms) => {
    if (status < 300) times.push(ms)
  })
  const r = await instance
  times.sort((a, b) => a - b)
  const q = (p: number) => (times.length === 0 ? 0 : times[Math.min(times.length - 1, Math.floor(p * times.length))]!)
  const result: LoadResult = {
    rps: times.length / (r.duration ?? seconds),
    p50Ms: round(q(0.5)),
    p99Ms: round(q(0.99)),
    requests: times.length,
    errors: r.errors + r.timeouts,
    non2xx: r.non2xx,
  }
  process.stdout.write(`${JSON.stringify(result)}\n`)
}

/** Runs `script load URL SECONDS` on cpu0 and returns its result. */
export function load(script: string, url: string, seconds: number): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = start([script, 'load', url, String(seconds)], 0)
    let out = ''
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()))
    child.once('exit', (code) => {
      try {
        resolve(JSON.parse(out.trim().split('\n').at(-1)!) as LoadResult)
      } catch {
        reject(new Error(`load generator failed (${code}): ${out}`))
      }
    })
  })
}

/** Warm-up, then one measured load run against `url`, with the CPU the proxy (if any) spent. */
export async function measure(script: string, name: string, url: string, proxy: ChildProcess | undefined, warmupS: number, durationS: number): Promise<MeasuredRun> {
  if (warmupS > 0) await load(script, url, warmupS)
  const cpu0 = cpuSeconds(proxy?.pid)
  const t0 = performance.now()
  const r = await load(script, url, durationS)
  const wall = (performance.now() - t0) / 1000
  const cpu1 = cpuSeconds(proxy?.pid)
  const cpu = cpu0 !== undefined && cpu1 !== undefined ? cpu1 - cpu0 : undefined
  return {
    scenario: name,
    ...r,
    rps: round(r.rps, 0),
    proxyCpuPct: cpu === undefined ? undefined : round((cpu / wall) * 100, 0),
    proxyCpuUsPerRequest: cpu === undefined || r.requests === 0 ? undefined : round((cpu * 1e6) / r.requests, 1),
  }
}

/** Runs the orchestrator; on failure prints the stack and sets exit code 1. */
export function runMain(orchestrate: () => Promise<void>): void {
  orchestrate().catch((err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`)
    process.exitCode = 1
  })
}

/** Median of 3 timed runs of `n` calls, in ns per call, after `warmup` untimed calls. */
export function nsPerOp(fn: (i: number) => void, n: number, warmup: number): number {
  for (let i = 0; i < warmup; i++) fn(i)
  const runs: number[] = []
  for (let r = 0; r < 3; r++) {
    const t0 = process.hrtime.bigint()
    for (let i = 0; i < n; i++) fn(i)
    runs.push(Number(process.hrtime.bigint() - t0) / n)
  }
  return runs.sort((a, b) => a - b)[1]!
}
