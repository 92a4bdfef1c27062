/**
 * Slow clients against a real commy process (issue 10, item 4): SLOW_CLIENTS clients (200) send
 * request bodies at 1 byte/s to one service with the default 128-connection upstream pool, and
 * reconnect whenever they are cut, so the attack never lets up. Meanwhile one normal GET every
 * 200 ms goes to the same service; its latency during the attack is the figure (target < 1 s).
 *
 * Run: `npm run build && node dist/bench/slow-clients.js`. With BENCH_BASELINE=<another build's
 * dist/src/main.js> the same attack runs against that build first (before/after in one run).
 * Env: SLOW_CLIENTS (200), SLOW_DURATION s (20), SLOW_BODY bytes per trickled body (1000),
 * SLOW_RATE bytes/s per client (1), SLOW_TIMEOUT ms a normal request may take before it counts
 * as failed (5000), SLOW_MIN_RATE (limits.minRequestBodyRate for this build only; `0` shows that
 * request buffering alone keeps the service free, with the tricklers never cut). Prints a table
 * and one JSON summary line last.
 *
 * Roles (internal): `slow-clients.js upstream` runs the upstream in a child process.
 */
import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { commyPort, listening, round, runMain, start, stop } from './lib/harness.js'
import { machine } from './lib/machine.js'

const HERE = dirname(fileURLToPath(import.meta.url))
const SELF = fileURLToPath(import.meta.url)
const MAIN = join(HERE, '../src/main.js')
const env = process.env
const CLIENTS = Number(env.SLOW_CLIENTS ?? 200)
const DURATION_S = Number(env.SLOW_DURATION ?? 20)
const BODY = Number(env.SLOW_BODY ?? 1000)
const RATE = Number(env.SLOW_RATE ?? 1)
const NORMAL_TIMEOUT_MS = Number(env.SLOW_TIMEOUT ?? 5000)
const BASELINE = env.BENCH_BASELINE
const MIN_RATE = env.SLOW_MIN_RATE

// ---------------------------------------------------------------- the upstream role

function runUpstream(): void {
  const server = http.createServer((req, res) => {
    req.resume()
    req.on('end', () => res.writeHead(200, { 'content-type': 'text/plain' }).end('ok'))
  })
  server.keepAliveTimeout = 60_000
  server.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ listening: (server.address() as { port: number }).port })}\n`))
  process.on('SIGTERM', () => process.exit(0))
}

// ---------------------------------------------------------------- the attack

interface Attack {
  /** Connections opened (first ones and reconnections). */
  opened: number
  /** Closed by commy with a 408. */
  cut408: number
  /** Closed by commy without an answer, or with another status. */
  cutOther: number
  stop(): void
}

/** `n` clients trickling bodies at RATE bytes/s; each reconnects when its connection closes. */
function trickle(port: number, n: number): Attack {
  let stopped = false
  const sockets = new Set<net.Socket>()
  const attack: Attack = {
    opened: 0,
    cut408: 0,
    cutOther: 0,
    stop() {
      stopped = true
      for (const s of sockets) s.destroy()
    },
  }
  const everyMs = Math.max(1, Math.round(1000 / RATE))
  const open = (): void => {
    if (stopped) return
    attack.opened++
    const s = net.connect(port, '127.0.0.1')
    sockets.add(s)
    let answer = ''
    let sent = 0
    let timer: NodeJS.Timeout | undefined
    s.on('connect', () => {
      s.write(`POST /upload HTTP/1.1\r\nHost: upstream\r\nContent-Length: ${BODY}\r\n\r\n`)
      timer = setInterval(() => {
        if (sent < BODY) {
          s.write('x')
          sent++
        }
      }, everyMs)
    })
    s.on('data', (d: Buffer) => (answer += d.toString('latin1')))
    s.on('error', () => {})
    s.on('close', () => {
      clearInterval(timer)
      sockets.delete(s)
      if (stopped) return
      if (answer.startsWith('HTTP/1.1 408')) attack.cut408++
      else attack.cutOther++
      setTimeout(open, 50)
    })
  }
  for (let i = 0; i < n; i++) setTimeout(open, (i * 1000) / n) // spread over the first second
  return attack
}

/** One GET on a fresh connection: ms to the complete answer, or -1 (error, non-200, too slow). */
function normalRequest(port: number): Promise<number> {
  const started = performance.now()
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/normal', headers: { host: 'upstream' }, agent: false }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode === 200 ? performance.now() - started : -1))
      res.on('error', () => resolve(-1))
    })
    req.setTimeout(NORMAL_TIMEOUT_MS, () => req.destroy())
    req.on('error', () => resolve(-1))
  })
}

function rssMb(pid: number | undefined): number {
  if (pid === undefined) return 0
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? round(Number(m[1]) / 1024, 1) : 0
  } catch {
    return 0
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0
  return round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!, 1)
}

interface Result {
  readonly build: string
  readonly idleP50Ms: number
  readonly normalRequests: number
  readonly normalFailed: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly maxMs: number
  readonly trickleConnections: number
  readonly cut408: number
  readonly cutOther: number
  readonly rssBeforeMb: number
  readonly rssPeakMb: number
  readonly rssAfterMb: number
}

async function scenario(build: string, main: string, upstreamPort: number, dir: string): Promise<Result> {
  const log = join(dir, `${build}.log`)
  rmSync(log, { force: true })
  const file = join(dir, `${build}.yaml`)
  writeFileSync(
    file,
    `node: { name: bench }
admin: { listen: 127.0.0.1:0 }
log: { level: info, destination: ${log}, accessLog: false }
${build === 'commy' && MIN_RATE !== undefined ? `limits: { minRequestBodyRate: ${Number(MIN_RATE)} }\n` : ''}listeners:
  - name: outbound
    listen: 127.0.0.1:0
    routes:
      - match: {}
        service: upstream
services:
  upstream:
    endpoints: [{ address: 127.0.0.1:${upstreamPort} }]
`,
  )
  const proxy: ChildProcess = start([main, '--config', file], 1)
  try {
    const port = await commyPort(log, proxy)
    const idle: number[] = []
    for (let i = 0; i < 20; i++) idle.push(await normalRequest(port))
    const rssBefore = rssMb(proxy.pid)
    const attack = trickle(port, CLIENTS)
    await sleep(1500) // every client connected and trickling
    const latencies: number[] = []
    let failed = 0
    let peak = rssBefore
    const end = Date.now() + DURATION_S * 1000
    while (Date.now() < end) {
      const next = Date.now() + 200
      const ms = await normalRequest(port)
      if (ms < 0) failed++
      else latencies.push(ms)
      peak = Math.max(peak, rssMb(proxy.pid))
      await sleep(Math.max(0, next - Date.now()))
    }
    attack.stop()
    await sleep(2000)
    const sorted = latencies.sort((a, b) => a - b)
    const idleSorted = idle.filter((x) => x >= 0).sort((a, b) => a - b)
    return {
      build,
      idleP50Ms: percentile(idleSorted, 50),
      normalRequests: latencies.length + failed,
      normalFailed: failed,
      p50Ms: percentile(sorted, 50),
      p99Ms: percentile(sorted, 99),
      maxMs: sorted.length > 0 ? round(sorted[sorted.length - 1]!, 1) : 0,
      trickleConnections: attack.opened,
      cut408: attack.cut408,
      cutOther: attack.cutOther,
      rssBeforeMb: rssBefore,
      rssPeakMb: peak,
      rssAfterMb: rssMb(proxy.pid),
    }
  } finally {
    await stop(proxy)
  }
}

async function orchestrate(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'commy-slow-'))
  const upstream = start([SELF, 'upstream'], 0)
  const results: Result[] = []
  try {
    const upstreamPort = await listening(upstream, (v): v is number => typeof v === 'number')
    process.stderr.write(`slow-clients: ${CLIENTS} clients at ${RATE} B/s (${BODY}-byte bodies), ${DURATION_S}s, one normal GET every 200 ms\n`)
    const builds: [string, string][] = [...(BASELINE !== undefined ? [['baseline', BASELINE] as [string, string]] : []), ['commy', MAIN]]
    for (const [name, main] of builds) {
      const r = await scenario(name, main, upstreamPort, dir)
      results.push(r)
      process.stderr.write(`  ${name}: ${JSON.stringify(r)}\n`)
    }
  } finally {
    await stop(upstream)
    rmSync(dir, { recursive: true, force: true })
  }
  const lines = [
    '',
    'build      idle p50 ms  normal reqs  failed  p50 ms   p99 ms   max ms   trickle conns  cut 408  cut other  RSS MB before/peak/after',
    ...results.map(
      (r) =>
        `${r.build.padEnd(10)} ${String(r.idleP50Ms).padStart(11)}  ${String(r.normalRequests).padStart(11)}  ${String(r.normalFailed).padStart(6)}  ${String(r.p50Ms).padStart(6)}  ${String(r.p99Ms).padStart(7)}  ${String(r.maxMs).padStart(7)}  ${String(r.trickleConnections).padStart(13)}  ${String(r.cut408).padStart(7)}  ${String(r.cutOther).padStart(9)}  ${r.rssBeforeMb}/${r.rssPeakMb}/${r.rssAfterMb}`,
    ),
    '',
    `target: normal requests answer in < 1 s during the attack (max, no failures): ${results.at(-1)!.normalFailed === 0 && results.at(-1)!.maxMs < 1000 ? 'met' : 'NOT met'}`,
    '',
  ]
  process.stdout.write(`${lines.join('\n')}\n`)
  const summary = {
    bench: 'slow-clients',
    ...machine(),
    clients: CLIENTS,
    rateBytesPerS: RATE,
    bodyBytes: BODY,
    durationS: DURATION_S,
    normalTimeoutMs: NORMAL_TIMEOUT_MS,
    minRequestBodyRate: MIN_RATE === undefined ? 'default' : Number(MIN_RATE),
    results,
  }
  process.stdout.write(`${JSON.stringify(summary)}\n`)
}

if (process.argv[2] === 'upstream') runUpstream()
else runMain(orchestrate)
