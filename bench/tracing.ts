/**
 * What tracing costs on the request path, in one run, for three settings: tracing off, on with
 * `sampling: 0` (unsampled: a traceparent added per request, no spans), on with `sampling: 1` (a
 * server and a client span per request, exported over OTLP/HTTP JSON to a collector that counts
 * them). Three measurements, each steadier than the next is realistic:
 * 1. in this process, the tracer alone: begin + one try + end per request, ns (no network);
 * 2. in this process, a whole Runtime (client, commy, upstream and collector share it), the
 *    settings interleaved, 8,000 requests each: req/s and CPU per request of the process;
 * 3. side by side: one commy process per setting on cpu1 (taskset when present), all running at
 *    once and sent bursts of 2,000 requests in turn, so a machine whose load changes weighs on
 *    every setting alike; CPU per request from /proc. With BENCH_BASELINE another build runs
 *    beside them with tracing off: the before/after of the tracing-off path.
 * With BENCH_MACRO=1, also the settings one after another with autocannon (as `npm run bench`),
 * best of BENCH_REPEATS in rotating order. One JSON summary line last.
 *
 * Run: `npm run build && node dist/bench/tracing.js`. Env: BENCH_REPEATS (3), BENCH_DURATION s (8),
 * BENCH_WARMUP s (2), BENCH_CONNECTIONS (50), BENCH_BASELINE, BENCH_MACRO (0).
 */
import type { ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import pino from 'pino'
import { Pool } from 'undici'
import { canPin, commyPort, cpuSeconds, listening, measure, nsPerOp, round, runLoad, runMain, start, stop, type MeasuredRun } from './lib/harness.js'
import { systemClock } from '../src/clock.js'
import { requestRecord } from '../src/proxy/request-record.js'
import { Tracer } from '../src/tracing/tracer.js'
import { parseConfig } from '../src/config/load.js'
import { Runtime } from '../src/runtime.js'
import { machine, ratioLines, report } from './lib/machine.js'

const HERE = dirname(fileURLToPath(import.meta.url))
const SELF = fileURLToPath(import.meta.url)
const MAIN = join(HERE, '../src/main.js')
const env = process.env
const DURATION = Number(env.BENCH_DURATION ?? 8)
const WARMUP = Number(env.BENCH_WARMUP ?? 2)
const CONNECTIONS = Number(env.BENCH_CONNECTIONS ?? 50)
const REPEATS = Math.max(1, Number(env.BENCH_REPEATS ?? 3))
const MACRO = env.BENCH_MACRO === '1'
const BASELINE = env.BENCH_BASELINE
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

/** ns per request of the tracer's work: begin, one try, end (the exporter discards). */
async function micro(): Promise<Record<string, number>> {
  const record = requestRecord({
    listener: 'outbound', method: 'GET', url: '/', route: { name: 'r', service: 'upstream' }, endpoint: '127.0.0.1:9', status: 200, startedAt: 0, endedAt: 1,
    bytesIn: 0, bytesOut: 100, attempts: 1, requestId: 'id', code: undefined, host: 'upstream', client: '127.0.0.1', userAgent: 'bench', httpVersion: '1.1',
    tries: [{ endpoint: '127.0.0.1:9', startedAt: 0, endedAt: 1, status: 200, code: undefined }],
  })
  const headers = () => ['host', 'upstream', 'user-agent', 'bench', 'x-forwarded-for', '127.0.0.1', 'x-request-id', 'id']
  const make = (sampling: number) =>
    new Tracer({
      config: { otlp: { endpoint: 'http://127.0.0.1:9/v1/traces', headers: {}, timeoutMs: 1000 }, sampling, serviceName: 'commy' },
      node: 'bench', clock: systemClock, random: Math.random, logger: pino({ level: 'silent' }),
      exporter: () => ({ export: (_s, done) => done({ code: 0 }), shutdown: async () => {} }),
      queue: { maxQueue: 1 << 20, maxBatch: 1 << 20, delayMs: 1 },
    })
  const off = nsPerOp(() => void headers(), 200_000, 20_000)
  const out: Record<string, number> = { off: round(off, 0) }
  for (const [name, sampling] of [['unsampled', 0], ['sampled', 1]] as const) {
    const tracer = make(sampling)
    // rounds of 2000 requests, the event loop turning between them so the queue exports (the
    // fake exporter discards) as it would under load: spans do not pile up in memory
    const round1 = () => {
      for (let i = 0; i < 2000; i++) {
        const tr = tracer.begin(headers(), 0)
        tr.beforeTry(1)
        tr.end(record)
      }
    }
    const turn = () => new Promise((r) => setTimeout(r, 2))
    for (let i = 0; i < 10; i++) {
      round1()
      await turn()
    }
    let busy = 0n
    for (let i = 0; i < 50; i++) {
      const t0 = process.hrtime.bigint()
      round1()
      busy += process.hrtime.bigint() - t0
      await turn()
    }
    await tracer.stop()
    if (tracer.counts().dropped > 0) throw new Error('micro bench: spans dropped')
    out[name] = round(Number(busy) / 100_000 - off, 0)
  }
  return out
}

/** One in-process run: a Runtime with `tracing`, 8,000 GETs over 20 keep-alive connections. */
async function inProcessRun(upstreamPort: number, tracing: Record<string, unknown> | undefined): Promise<{ rps: number; cpuUsPerRequest: number }> {
  const doc = {
    admin: { listen: '127.0.0.1:0' },
    log: { accessLog: false },
    listeners: [{ name: 'l', listen: '127.0.0.1:0', routes: [{ match: {}, service: 's' }] }],
    services: { s: { endpoints: [{ address: `127.0.0.1:${upstreamPort}` }] } },
    ...(tracing ? { tracing } : {}),
  }
  const logs = { logger: pino({ level: 'silent' }), access: undefined, dropped: () => 0, close: async () => {} }
  const rt = new Runtime({ config: parseConfig(JSON.stringify(doc), 'bench.yaml'), logs })
  await rt.start()
  const pool = new Pool(`http://127.0.0.1:${rt.sidecar.address().port}`, { connections: 20 })
  const N = 8000
  let next = 0
  const worker = async () => {
    while (next++ < N) await (await pool.request({ path: '/', method: 'GET' })).body.text()
  }
  await Promise.all(Array.from({ length: 20 }, worker)) // warm-up
  next = 0
  const c0 = process.cpuUsage()
  const t0 = performance.now()
  await Promise.all(Array.from({ length: 20 }, worker))
  const wall = performance.now() - t0
  const c = process.cpuUsage(c0)
  await pool.close()
  await rt.stop()
  return { rps: round((N / wall) * 1000, 0), cpuUsPerRequest: round((c.user + c.system) / N, 1) }
}

async function inProcess(): Promise<Record<Scenario, { rps: number; cpuUsPerRequest: number }[]>> {
  const serve = (handler: http.RequestListener) =>
    new Promise<http.Server>((resolve) => {
      const server = http.createServer(handler)
      server.listen(0, '127.0.0.1', () => resolve(server))
    })
  const up = await serve((req, res) => {
    req.resume()
    res.writeHead(200, { 'content-length': 2 }).end('ok')
  })
  const collector = await serve((req, res) => {
    req.resume()
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'))
  })
  const port = (s: http.Server) => (s.address() as { port: number }).port
  const endpoint = `http://127.0.0.1:${port(collector)}/v1/traces`
  const out: Record<Scenario, { rps: number; cpuUsPerRequest: number }[]> = { off: [], unsampled: [], sampled: [] }
  try {
    for (let rep = 0; rep < REPEATS + 1; rep++) {
      for (const s of SCENARIOS.map((_, i) => SCENARIOS[(i + rep) % SCENARIOS.length]!)) {
        out[s].push(await inProcessRun(port(up), s === 'off' ? undefined : { otlp: { endpoint }, sampling: s === 'sampled' ? 1 : 0 }))
      }
    }
  } finally {
    up.close()
    collector.close()
  }
  return out
}

interface SideResult {
  readonly scenario: string
  readonly rps: number
  readonly cpuUsPerRequest: number
}

/**
 * The three settings (and BENCH_BASELINE's build, tracing off, when given) as commy processes
 * running at the same time on cpu1, each sent bursts of 2,000 requests in turn (the order
 * alternating) over 50 keep-alive connections from this process: a machine whose load changes
 * over time weighs on every setting alike. CPU per request from /proc for each commy.
 */
async function sideBySide(dir: string, upstreamPort: number, collectorPort: number): Promise<SideResult[]> {
  const settings: { name: string; main: string; scenario: Scenario }[] = [
    ...(BASELINE ? [{ name: 'baseline-off', main: BASELINE, scenario: 'off' as const }] : []),
    ...SCENARIOS.map((s) => ({ name: s, main: MAIN, scenario: s })),
  ]
  const procs: { name: string; child: ChildProcess; pool: Pool; n: number; ms: number; cpu: number }[] = []
  try {
    for (const st of settings) {
      const log = join(dir, `${st.name}.log`)
      const file = join(dir, `${st.name}.yaml`)
      writeFileSync(file, config(st.scenario, upstreamPort, collectorPort, dir).replace(join(dir, 'commy.log'), log))
      const child = start([st.main, '--config', file], 1)
      const port = await commyPort(log, child)
      procs.push({ name: st.name, child, pool: new Pool(`http://127.0.0.1:${port}/`, { connections: CONNECTIONS }), n: 0, ms: 0, cpu: 0 })
    }
    const burst = async (p: (typeof procs)[number], n: number, counted: boolean) => {
      let next = 0
      const c0 = cpuSeconds(p.child.pid) ?? 0
      const t0 = performance.now()
      await Promise.all(
        Array.from({ length: CONNECTIONS }, async () => {
          while (next++ < n) await (await p.pool.request({ path: '/', method: 'GET' })).body.text()
        }),
      )
      if (!counted) return
      p.ms += performance.now() - t0
      p.cpu += (cpuSeconds(p.child.pid) ?? 0) - c0
      p.n += n
    }
    for (const p of procs) await burst(p, 4000, false) // warm-up
    for (let r = 0; r < REPEATS * 4; r++) for (const p of r % 2 === 0 ? procs : [...procs].reverse()) await burst(p, 2000, true)
  } finally {
    for (const p of procs) {
      await p.pool.close()
      await stop(p.child)
    }
  }
  return procs.map((p) => ({ scenario: p.name, rps: round((p.n / p.ms) * 1000, 0), cpuUsPerRequest: round((p.cpu * 1e6) / p.n, 1) }))
}

async function orchestrate(): Promise<void> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} missing: run npm run build`)
  const tracerNs = await micro()
  process.stderr.write(`tracer CPU per request (in process): unsampled ${tracerNs.unsampled} ns, sampled ${tracerNs.sampled} ns (spans built and queued)\n`)
  const inproc = await inProcess()
  for (const sc of SCENARIOS) process.stderr.write(`in process, ${sc.padEnd(10)} ${inproc[sc].map((r) => `${r.rps} req/s ${r.cpuUsPerRequest} µs`).join(' | ')}\n`)
  let side: SideResult[]
  {
    const sdir = mkdtempSync(join(tmpdir(), 'commy-bench-tracing-side-'))
    const upstream = start([SELF, 'upstream'], 0)
    const collector = start([SELF, 'collector'], 0)
    try {
      const [upstreamPort, collectorPort] = await Promise.all([listeningPort(upstream), listeningPort(collector)])
      side = await sideBySide(sdir, upstreamPort, collectorPort)
    } finally {
      await Promise.all([stop(upstream), stop(collector)])
      rmSync(sdir, { recursive: true, force: true })
    }
    for (const r of side) process.stderr.write(`side by side, ${r.scenario.padEnd(12)} ${r.rps} req/s  ${r.cpuUsPerRequest} µs CPU/req\n`)
  }
  if (!MACRO) {
    process.stdout.write(`${JSON.stringify({ bench: 'tracing', ...machine(), tracerNsPerRequest: tracerNs, inProcess: inproc, sideBySide: side })}\n`)
    return
  }
  const dir = mkdtempSync(join(tmpdir(), 'commy-bench-tracing-'))
  const upstream = start([SELF, 'upstream'], 0)
  const collector = start([SELF, 'collector'], 0)
  const results: Result[] = []
  try {
    const [upstreamPort, collectorPort] = await Promise.all([listeningPort(upstream), listeningPort(collector)])
    process.stderr.write(`bench tracing: ${SCENARIOS.join(', ')} — ${CONNECTIONS} connections, ${WARMUP}s warm-up + ${DURATION}s each${canPin ? ', commy pinned to cpu1' : ''}\n`)
    const runs = new Map<Scenario, Result[]>()
    for (let rep = 0; rep < REPEATS; rep++) {
      // the order rotates with each repeat: a machine getting busier does not always hit the same scenario
      for (const s of SCENARIOS.map((_, i) => SCENARIOS[(i + rep) % SCENARIOS.length]!)) {
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
    ...ratioLines(ratios, 32),
    `tracer's own CPU per request: unsampled ${tracerNs.unsampled} ns, sampled ${tracerNs.sampled} ns (off: none)`,
    '',
  ]
  report(lines, { bench: 'tracing', pinned: canPin, connections: CONNECTIONS, durationS: DURATION, repeats: REPEATS, tracerNsPerRequest: { unsampled: tracerNs.unsampled, sampled: tracerNs.sampled }, inProcess: inproc, sideBySide: side, results, ratios })
}

const [role, ...rest] = process.argv.slice(2)
if (role === 'upstream') runUpstream()
else if (role === 'collector') runCollector()
else if (role === 'load') void runLoad(rest[0]!, Number(rest[1] ?? DURATION), { connections: CONNECTIONS })
else runMain(orchestrate)
