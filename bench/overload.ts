/**
 * Overload: 1,000 connections far past capacity through a real commy child process, and what it
 * costs in memory. The upstream of service `slow` answers after OVERLOAD_DELAY_MS (default 100 ms),
 * so with 128 pooled connections it serves ~1,300 req/s while autocannon keeps
 * OVERLOAD_CONNECTIONS (1000) requests outstanding for OVERLOAD_SECONDS (20). Meanwhile a probe
 * sends one normal request every 100 ms to service `fast` (its own upstream, answering at once)
 * through the same listener: the latency of normal requests during the attack.
 *
 * The child's RSS is sampled from /proc/<pid>/status every 250 ms: before (after a short warm-up),
 * peak during the attack, and after (OVERLOAD_AFTER_S, default 10 s, after the load stopped).
 * The access log is on. OVERLOAD_LOG says where the logs go: `file` (default), `stdout` (a pipe
 * this process never reads: a log shipper that fell behind) or `off` (access log off, to a file).
 *
 *   npm run build && node dist/bench/overload.js
 *
 * Runs this build, then (when it exists) the baseline build OVERLOAD_BASELINE (default
 * /work/baseline/dist/src/main.js), in the same harness. JSON summary last.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import { tmpdir } from 'node:os'
import { basename, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { canPin, commyPort, listening, load, round, runLoad, runMain, start, stop, type LoadResult } from './lib/harness.js'
import { machine } from './lib/machine.js'

const HERE = dirname(fileURLToPath(import.meta.url))
const SELF = fileURLToPath(import.meta.url)
const MAIN = basename(dirname(HERE)) === 'dist' ? join(HERE, '../src/main.js') : join(HERE, '../dist/src/main.js')
const env = process.env
const BASELINE = env.OVERLOAD_BASELINE ?? '/work/baseline/dist/src/main.js'
const CONNECTIONS = Number(env.OVERLOAD_CONNECTIONS ?? 1000)
const SECONDS = Number(env.OVERLOAD_SECONDS ?? 20)
const DELAY_MS = Number(env.OVERLOAD_DELAY_MS ?? 100)
const AFTER_S = Number(env.OVERLOAD_AFTER_S ?? 10)
const LOG = env.OVERLOAD_LOG ?? 'file'
const ACCESS_LOG = LOG !== 'off'

// ---------------------------------------------------------------- roles

function runUpstream(delayMs: number): void {
  const body = Buffer.alloc(100, 'x')
  const server = http.createServer((req, res) => {
    req.resume()
    const answer = () => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length })
      res.end(body)
    }
    if (delayMs > 0) setTimeout(answer, delayMs)
    else answer()
  })
  server.keepAliveTimeout = 60_000
  server.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ listening: (server.address() as { port: number }).port })}\n`))
  process.on('SIGTERM', () => process.exit(0))
}

// ---------------------------------------------------------------- orchestration

function rssMb(pid: number | undefined): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? round(Number(m[1]) / 1024, 1) : NaN
  } catch {
    return NaN
  }
}

function config(dir: string, slowPort: number, fastPort: number): string {
  return JSON.stringify({
    node: { name: 'overload' },
    admin: { listen: '127.0.0.1:0' },
    log: { level: 'info', destination: LOG === 'stdout' ? 'stdout' : join(dir, 'commy.log'), accessLog: ACCESS_LOG },
    listeners: [
      {
        name: 'outbound',
        listen: '127.0.0.1:0',
        routes: [
          { match: { host: 'fast' }, service: 'fast' },
          { match: {}, service: 'slow' },
        ],
      },
    ],
    services: {
      slow: { strategy: 'round-robin', endpoints: [{ address: `127.0.0.1:${slowPort}` }] },
      fast: { strategy: 'round-robin', endpoints: [{ address: `127.0.0.1:${fastPort}` }] },
    },
  })
}

/** One normal request every 100 ms until stopped: latencies (ms) and failures. */
function probe(port: number): { stop(): Promise<{ ms: number[]; failed: number }> } {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
  const ms: number[] = []
  let failed = 0
  let running = true
  const one = () =>
    new Promise<void>((resolve) => {
      const t0 = performance.now()
      const req = http.get({ host: '127.0.0.1', port, path: '/probe', headers: { host: 'fast' }, agent }, (res) => {
        res.resume()
        res.on('end', () => {
          if (res.statusCode === 200) ms.push(performance.now() - t0)
          else failed++
          resolve()
        })
      })
      req.setTimeout(10_000, () => req.destroy(new Error('probe timed out')))
      req.on('error', () => {
        failed++
        resolve()
      })
    })
  const loop = (async () => {
    while (running) {
      await one()
      await new Promise((r) => setTimeout(r, 100))
    }
  })()
  return {
    stop: async () => {
      running = false
      await loop
      agent.destroy()
      return { ms, failed }
    },
  }
}

function pct(sorted: number[], p: number): number {
  return sorted.length === 0 ? NaN : round(sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!, 1)
}

function loadChild(url: string): Promise<LoadResult> {
  return load(SELF, url, SECONDS)
}

interface RunResult {
  readonly build: string
  readonly rssMb: { before: number; peak: number; after: number }
  /** V8 heap in use at the end (what is still referenced plus garbage not yet collected). */
  readonly heapUsedAfterMb: number
  /** RSS each second after the load stopped. */
  readonly afterSeriesMb: number[]
  /** Peaks during the attack, from the child's /metrics. */
  readonly memoryPeakMb: { heapUsedMb: number; heapTotalMb: number; externalMb: number }
  readonly load: LoadResult
  readonly normalRequests: { count: number; failed: number; p50Ms: number; p99Ms: number; maxMs: number }
  readonly metrics: Record<string, number>
}

async function run(build: string, main: string, slowPort: number, fastPort: number): Promise<RunResult> {
  const dir = mkdtempSync(join(tmpdir(), 'commy-overload-'))
  const file = join(dir, 'commy.yaml')
  writeFileSync(file, config(dir, slowPort, fastPort))
  const proxy = start([main, '--config', file], 1)
  const logFile = join(dir, 'commy.log')
  if (LOG === 'stdout') {
    // read the start-up lines, then stop reading: the pipe fills and stays full
    let text = ''
    const onData = (d: Buffer) => {
      text += d.toString()
      writeFileSync(logFile, text)
    }
    proxy.stdout!.on('data', onData)
    await commyPort(logFile, proxy, /"msg":"admin server listening"/)
    await commyPort(logFile, proxy, /"listener":"outbound","address":"127\.0\.0\.1:(\d+)","msg":"listening"/)
    proxy.stdout!.off('data', onData)
    proxy.stdout!.pause()
  } else proxy.stdout!.resume()
  try {
    const port = await commyPort(logFile, proxy, /"listener":"outbound","address":"127\.0\.0\.1:(\d+)","msg":"listening"/)
    const adminPort = await commyPort(logFile, proxy, /"address":"http:\/\/127\.0\.0\.1:(\d+)"[^\n]*"msg":"admin server listening"/)
    // warm-up: a few hundred requests, then settle
    for (let i = 0; i < 200; i++) await fetch(`http://127.0.0.1:${port}/w`, { headers: { host: 'fast' } }).then((r) => r.arrayBuffer())
    await new Promise((r) => setTimeout(r, 1000))
    const before = rssMb(proxy.pid)
    let peak = before
    const sampler = setInterval(() => (peak = Math.max(peak, rssMb(proxy.pid) || 0)), 250)
    // heap and external memory of the child during the attack, from its /metrics (every 2 s)
    const memory = { heapUsedMb: 0, heapTotalMb: 0, externalMb: 0 }
    const memSampler = setInterval(() => {
      fetch(`http://127.0.0.1:${adminPort}/metrics`, { signal: AbortSignal.timeout(1500) })
        .then((r) => r.text())
        .then((text) => {
          const v = (name: string) => round(Number(new RegExp(`^${name} ([0-9.e+]+)$`, 'm').exec(text)?.[1] ?? 0) / 2 ** 20, 1)
          memory.heapUsedMb = Math.max(memory.heapUsedMb, v('nodejs_heap_size_used_bytes'))
          memory.heapTotalMb = Math.max(memory.heapTotalMb, v('nodejs_heap_size_total_bytes'))
          memory.externalMb = Math.max(memory.externalMb, v('nodejs_external_memory_bytes'))
        })
        .catch(() => {})
    }, 2000)
    const p = probe(port)
    const load = await loadChild(`http://127.0.0.1:${port}/`)
    const normal = await p.stop()
    clearInterval(memSampler)
    clearInterval(sampler)
    // after the load: RSS each second (V8 gives memory back once the allocation rate drops)
    const afterSeries: number[] = []
    for (let i = 0; i < AFTER_S; i++) {
      await new Promise((r) => setTimeout(r, 1000))
      afterSeries.push(rssMb(proxy.pid))
    }
    const after = afterSeries.at(-1) ?? rssMb(proxy.pid)
    const text = await fetch(`http://127.0.0.1:${adminPort}/metrics`).then((r) => r.text())
    const heapUsedAfterMb = round(Number(/^nodejs_heap_size_used_bytes ([0-9.e+]+)$/m.exec(text)?.[1] ?? NaN) / 2 ** 20, 1)
    const metrics: Record<string, number> = {}
    for (const m of text.matchAll(/^(commy_connections_refused_total|commy_access_log_dropped_total|commy_descriptor_exhaustion_total)(\{[^}]*\})? (\d+)$/gm)) {
      metrics[`${m[1]}${m[2] ?? ''}`] = Number(m[3])
    }
    const sorted = normal.ms.sort((a, b) => a - b)
    return {
      build,
      rssMb: { before, peak, after },
      memoryPeakMb: memory,
      afterSeriesMb: afterSeries,
      heapUsedAfterMb,
      load,
      normalRequests: { count: sorted.length, failed: normal.failed, p50Ms: pct(sorted, 0.5), p99Ms: pct(sorted, 0.99), maxMs: round(sorted.at(-1) ?? NaN, 1) },
      metrics,
    }
  } finally {
    await stop(proxy)
    rmSync(dir, { recursive: true, force: true })
  }
}

async function orchestrate(): Promise<void> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} missing: run npm run build`)
  const slow = start([SELF, 'upstream', String(DELAY_MS)], 0)
  const fast = start([SELF, 'upstream', '0'], 0)
  const results: RunResult[] = []
  try {
    const isPort = (v: unknown): v is number => typeof v === 'number'
    const [slowPort, fastPort] = await Promise.all([listening(slow, isPort), listening(fast, isPort)])
    const builds: Array<[string, string]> = [['this', MAIN], ...(existsSync(BASELINE) ? [['baseline', BASELINE] as [string, string]] : [])]
    process.stderr.write(
      `overload: ${CONNECTIONS} connections for ${SECONDS} s against a ${DELAY_MS} ms upstream, logs: ${LOG}; builds: ${builds.map(([b]) => b).join(', ')}${canPin ? '; commy pinned to cpu1' : ''}\n`,
    )
    for (const [build, main] of builds) {
      const r = await run(build, main, slowPort, fastPort)
      results.push(r)
      process.stderr.write(
        `  ${build.padEnd(9)} RSS before ${r.rssMb.before} MB  peak ${r.rssMb.peak} MB  after ${r.rssMb.after} MB | load ${round(r.load.rps, 0)} req/s ok, errors ${r.load.errors}, non-2xx ${r.load.non2xx} | normal requests p50 ${r.normalRequests.p50Ms} ms p99 ${r.normalRequests.p99Ms} ms max ${r.normalRequests.maxMs} ms failed ${r.normalRequests.failed}/${r.normalRequests.count + r.normalRequests.failed}\n`,
      )
    }
  } finally {
    await stop(slow)
    await stop(fast)
  }
  const summary = {
    bench: 'overload',
    ...machine(),
    connections: CONNECTIONS,
    seconds: SECONDS,
    upstreamDelayMs: DELAY_MS,
    log: LOG,
    targetPeakRssMb: 250,
    results,
  }
  process.stdout.write(`${JSON.stringify(summary)}\n`)
}

const role = process.argv[2]
if (role === 'upstream') runUpstream(Number(process.argv[3] ?? 0))
else if (role === 'load') void runLoad(process.argv[3]!, Number(process.argv[4]), { connections: CONNECTIONS, timeout: Number(env.OVERLOAD_TIMEOUT_S ?? 10) })
else runMain(orchestrate)
