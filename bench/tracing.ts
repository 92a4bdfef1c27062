/**
 * What tracing costs on the request path, through commy, in one run: tracing off, on with
 * `sampling: 0` (unsampled: a traceparent added per request, no spans), and on with `sampling: 1`
 * (a server and a client span per request, exported over OTLP/HTTP JSON to a collector process
 * that counts what it receives). Upstream, collector and load generator on cpu0, commy on cpu1
 * (taskset when present). Scenarios run interleaved BENCH_REPEATS times; each reports its best run.
 * Prints a table, the ratios to `off`, and one JSON summary line last.
 *
 * Run: `npm run build && node dist/bench/tracing.js`. Env: BENCH_REPEATS (2), BENCH_DURATION s (8),
 * BENCH_WARMUP s (2), BENCH_CONNECTIONS (50).
 */
import type { ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import { cpus, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { canPin, commyPort, listening, measure, round, runLoad, runMain, start, stop, type MeasuredRun } from './lib/harness.js'

const HERE = dirname(fileURLToPath(import.meta.url))
const SELF = fileURLToPath(import.meta.url)
const MAIN = join(HERE, '../src/main.js')
const env = process.env
const DURATION = Number(env.BENCH_DURATION ?? 8)
const WARMUP = Number(env.BENCH_WARMUP ?? 2)
const CONNECTIONS = Number(env.BENCH_CONNECTIONS ?? 50)
const REPEATS = Math.max(1, Number(env.BENCH_REPEATS ?? 2))
const SCENARIOS = ['off', 'unsampled', 'sampled'] as const
type Scenario = (typeof SCENARIOS)[number]

// ---------------------------------------------------------------- roles

function runUpstream(): void {
  const body = Buffer.alloc(100, 'x')
  const server = http.createServer((req, res) => {
    req.resume()
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length })
    res.end(body)
  })
  server.keepAliveTimeout = 60_000
  server.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ listening: (server.address() as { port: number }).port })}\n`))
  process.on('SIGTERM', () => process.exit(0))
}

/** An OTLP/HTTP receiver that counts spans (`GET /count`), as a collector would accept them. */
function runCollector(): void {
  let spans = 0
  let bytes = 0
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      if (req.method === 'GET') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ spans, bytes }))
        return
      }
      const body = Buffer.concat(chunks)
      bytes += body.length
      const doc = JSON.parse(body.toString()) as { resourceSpans?: { scopeSpans?: { spans?: unknown[] }[] }[] }
      for (const rs of doc.resourceSpans ?? []) for (const ss of rs.scopeSpans ?? []) spans += ss.spans?.length ?? 0
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
    })
  })
  server.keepAliveTimeout = 60_000
  server.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ listening: (server.address() as { port: number }).port })}\n`))
  process.on('SIGTERM', () => process.exit(0))
}

// ---------------------------------------------------------------- orchestration

const listeningPort = (child: ChildProcess) => listening(child, (v): v is number => typeof v === 'number')

function config(s: Scenario, upstreamPort: number, collectorPort: number, dir: string): string {
  const tracing = s === 'off' ? '' : `tracing:\n  otlp: { endpoint: http://127.0.0.1:${collectorPort}/v1/traces }\n  sampling: ${s === 'sampled' ? 1 : 0}\n`
  return `node: { name: bench }
admin: { listen: 127.0.0.1:0 }
log: { level: info, destination: ${join(dir, 'commy.log')}, accessLog: false }
listeners:
  - name: outbound
    listen: 127.0.0.1:0
    routes:
      - match: {}
        service: upstream
services:
  upstream:
    strategy: round-robin
    endpoints: [{ address: 127.0.0.1:${upstreamPort} }]
${tracing}`
}

async function spansReceived(collectorPort: number): Promise<number> {
  const r = await fetch(`http://127.0.0.1:${collectorPort}/count`)
  return ((await r.json()) as { spans: number }).spans
}

interface Result extends MeasuredRun {
  rpsRuns?: number[]
  /** Spans the collector received during the run (sampled). */
  spans?: number
}

async function scenario(s: Scenario, upstreamPort: number, collectorPort: number, dir: string): Promise<Result> {
  rmSync(join(dir, 'commy.log'), { force: true })
  const file = join(dir, `${s}.yaml`)
  writeFileSync(file, config(s, upstreamPort, collectorPort, dir))
  const proxy = start([MAIN, '--config', file], 1)
  try {
    const port = await commyPort(join(dir, 'commy.log'), proxy)
    const before = await spansReceived(collectorPort)
    const r = await measure(SELF, s, `http://127.0.0.1:${port}/`, proxy, WARMUP, DURATION)
    await stop(proxy) // flushes the span queue
    return { ...r, spans: (await spansReceived(collectorPort)) - before }
  } finally {
    await stop(proxy)
  }
}

async function orchestrate(): Promise<void> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} missing: run npm run build`)
  const dir = mkdtempSync(join(tmpdir(), 'commy-bench-tracing-'))
  const upstream = start([SELF, 'upstream'], 0)
  const collector = start([SELF, 'collector'], 0)
  const results: Result[] = []
  try {
    const [upstreamPort, collectorPort] = await Promise.all([listeningPort(upstream), listeningPort(collector)])
    process.stderr.write(`bench tracing: ${SCENARIOS.join(', ')} — ${CONNECTIONS} connections, ${WARMUP}s warm-up + ${DURATION}s each${canPin ? ', commy pinned to cpu1' : ''}\n`)
    const runs = new Map<Scenario, Result[]>()
    for (let rep = 0; rep < REPEATS; rep++) {
      for (const s of SCENARIOS) {
        const r = await scenario(s, upstreamPort, collectorPort, dir)
        runs.set(s, [...(runs.get(s) ?? []), r])
        process.stderr.write(`  [${rep + 1}/${REPEATS}] ${s.padEnd(10)} ${String(r.rps).padStart(7)} req/s  p99 ${r.p99Ms} ms  CPU ${r.proxyCpuPct ?? '-'}%  ${r.proxyCpuUsPerRequest ?? '-'} µs/req  spans ${r.spans}\n`)
      }
    }
    for (const s of SCENARIOS) {
      const all = runs.get(s)!
      results.push({ ...all.reduce((a, b) => (b.rps > a.rps ? b : a)), rpsRuns: all.map((r) => r.rps) })
    }
  } finally {
    await Promise.all([stop(upstream), stop(collector)])
    rmSync(dir, { recursive: true, force: true })
  }
  const off = results.find((r) => r.scenario === 'off')!
  const ratios: Record<string, number> = {}
  for (const r of results) {
    if (r === off) continue
    ratios[`${r.scenario}/off req/s`] = round(r.rps / off.rps)
    if (r.proxyCpuUsPerRequest !== undefined && off.proxyCpuUsPerRequest) ratios[`${r.scenario}/off CPU per request`] = round(r.proxyCpuUsPerRequest / off.proxyCpuUsPerRequest)
  }
  const lines = [
    '',
    `best of ${REPEATS} interleaved runs per scenario`,
    'tracing       req/s    p50 ms   p99 ms  CPU%  µs CPU/req   spans  runs (req/s)',
    ...results.map(
      (r) =>
        `${r.scenario.padEnd(10)} ${String(r.rps).padStart(8)}  ${String(r.p50Ms).padStart(7)}  ${String(r.p99Ms).padStart(7)}  ${String(r.proxyCpuPct ?? '-').padStart(4)}  ${String(r.proxyCpuUsPerRequest ?? '-').padStart(10)}  ${String(r.spans ?? '-').padStart(6)}  ${(r.rpsRuns ?? []).join(' ')}`,
    ),
    '',
    ...Object.entries(ratios).map(([k, v]) => `${k.padEnd(32)} ${v}x`),
    '',
  ]
  process.stdout.write(`${lines.join('\n')}\n`)
  const summary = { bench: 'tracing', node: process.version, cpu: cpus()[0]?.model ?? 'unknown', cpus: cpus().length, pinned: canPin, connections: CONNECTIONS, durationS: DURATION, repeats: REPEATS, results, ratios }
  process.stdout.write(`${JSON.stringify(summary)}\n`)
}

const [role, ...rest] = process.argv.slice(2)
if (role === 'upstream') runUpstream()
else if (role === 'collector') runCollector()
else if (role === 'load') void runLoad(rest[0]!, Number(rest[1] ?? DURATION), { connections: CONNECTIONS })
else runMain(orchestrate)
