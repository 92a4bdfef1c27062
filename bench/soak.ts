/**
 * The soak (not a test): SOAK_MINUTES (default 30) of moderate load through a real commy child
 * process while gossip (a second commy node as its peer, with a gossip key) and active health
 * checks run, to show that memory and handles stay flat.
 *
 *   npm run build && SOAK_MINUTES=30 node dist/bench/soak.js
 *
 * Processes: two upstream echo servers, node `soak-b` (gossip seed; offers service `echo` on
 * upstream 2 as a local service with a health check, gossiped), node `soak-a` (the node under
 * load: gossip peer of b, service `static` with a static endpoint on upstream 1 and an active
 * health check, service `echo` learned from gossip), and autocannon in this process at a fixed
 * overall rate (SOAK_RATE, default 400 req/s) over 20 keep-alive connections, alternating
 * `/static/x` and `/echo/x`. Node a writes its access log (on) to a file, as in production.
 *
 * Every 10 s (SOAK_SAMPLE_S) each node is sampled: RSS from /proc/<pid>/status (VmRSS), and from
 * its /metrics (prom-client's default process metrics) heap used, active handles and open
 * descriptors. After a warm-up (SOAK_WARMUP_S, default min(120 s, a quarter of the run)) a
 * least-squares line is fitted per metric and its slope printed per hour (and as a share of the
 * metric's mean per hour). The samples go to a JSON-lines file (SOAK_SAMPLES, default in the
 * system temp directory; its path is printed); the JSON summary is the last line on stdout.
 *
 * SOAK_MAIN runs another build (e.g. the baseline's dist/src/main.js) for both nodes. SOAK_REPLAY=<samples
 * file> prints the analysis of a finished run again, without running anything.
 */
import { randomBytes } from 'node:crypto'
import { type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, appendFileSync } from 'node:fs'
import http from 'node:http'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { basename, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { canPin, listening, round, runMain, start, stop } from './lib/harness.js'
import { machine } from './lib/machine.js'

const HERE = dirname(fileURLToPath(import.meta.url))
const SELF = fileURLToPath(import.meta.url)
/** dist/bench/soak.js -> dist/src/main.js; bench/soak.ts (ts-loader) -> dist/src/main.js too. */
const MAIN = process.env.SOAK_MAIN ?? (basename(dirname(HERE)) === 'dist' ? join(HERE, '../src/main.js') : join(HERE, '../dist/src/main.js'))
const env = process.env
const MINUTES = Number(env.SOAK_MINUTES ?? 30)
const DURATION_S = Math.max(30, Math.round(MINUTES * 60))
const RATE = Number(env.SOAK_RATE ?? 400)
const CONNECTIONS = Number(env.SOAK_CONNECTIONS ?? 20)
const SAMPLE_S = Number(env.SOAK_SAMPLE_S ?? 10)
const WARMUP_S = Number(env.SOAK_WARMUP_S ?? Math.min(120, DURATION_S / 4))

type Sample = Record<string, number>

// ---------------------------------------------------------------- roles

function runUpstream(): void {
  const body = Buffer.alloc(200, 'x')
  const server = http.createServer((req, res) => {
    req.resume()
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length })
    res.end(body)
  })
  server.keepAliveTimeout = 60_000
  server.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ listening: (server.address() as { port: number }).port })}\n`))
  process.on('SIGTERM', () => process.exit(0))
}

// ---------------------------------------------------------------- nodes

const CHECK = { http: { path: '/health' }, interval: '1s', timeout: '500ms', unhealthyThreshold: 2, healthyThreshold: 1 }

function nodeConfig(name: string, dir: string, key: string, extra: Record<string, unknown>): string {
  const cfg = {
    node: { name },
    admin: { listen: '127.0.0.1:0' },
    log: { level: 'info', destination: join(dir, `${name}.log`), accessLog: true },
    gossip: { listen: '127.0.0.1:0', key, cluster: 'soak', profile: 'local', seeds: [] as string[] },
    ...extra,
  }
  return JSON.stringify(cfg)
}

interface Node {
  readonly name: string
  readonly child: ChildProcess
  readonly log: string
  readonly admin: number
  readonly outbound: number
  readonly gossip: number
}

async function startNode(name: string, dir: string, config: string, cpu: number): Promise<Node> {
  const file = join(dir, `${name}.yaml`)
  const log = join(dir, `${name}.log`)
  writeFileSync(file, config)
  const child = start([MAIN, '--config', file], cpu)
  child.stdout!.resume()
  const until = Date.now() + 15_000
  const port = (text: string, re: RegExp) => Number(re.exec(text)?.[1] ?? 0)
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}`)
    const text = existsSync(log) ? readFileSync(log, 'utf8') : ''
    const admin = port(text, /"address":"(?:http:\/\/)?127\.0\.0\.1:(\d+)"[^\n]*"msg":"admin server listening"/)
    const outbound = port(text, /"listener":"outbound"[^\n]*"address":"127\.0\.0\.1:(\d+)","msg":"listening"/)
    const gossip = port(text, /"address":"127\.0\.0\.1:(\d+)"[^\n]*"msg":"gossip started"/)
    if (admin && outbound && gossip) return { name, child, log, admin, outbound, gossip }
    await new Promise((r) => setTimeout(r, 100))
  }
  child.kill('SIGKILL')
  throw new Error(`${name} did not start; log:\n${existsSync(log) ? readFileSync(log, 'utf8').slice(-2000) : '(none)'}`)
}

async function get(port: number, path: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(5000) })
  return { status: res.status, body: await res.text() }
}

/** VmRSS of a process in bytes (Linux), or NaN. */
function rssBytes(pid: number | undefined): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) * 1024 : NaN
  } catch {
    return NaN
  }
}

const PROM = {
  heapUsed: 'nodejs_heap_size_used_bytes',
  activeHandles: 'nodejs_active_handles_total',
  openFds: 'process_open_fds',
} as const

async function sampleNode(n: Node): Promise<Sample> {
  const s: Sample = { rss: rssBytes(n.child.pid) }
  try {
    const text = (await get(n.admin, '/metrics')).body
    for (const [k, name] of Object.entries(PROM)) {
      const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, 'm').exec(text)
      s[k] = m ? Number(m[1]) : NaN
    }
  } catch {
    for (const k of Object.keys(PROM)) s[k] = NaN
  }
  return s
}

/** Least-squares slope of y over x (x in seconds), per hour; NaN with fewer than 3 points. */
function slopePerHour(points: ReadonlyArray<readonly [number, number]>): number {
  const ps = points.filter(([, y]) => Number.isFinite(y))
  if (ps.length < 3) return NaN
  const mx = ps.reduce((a, [x]) => a + x, 0) / ps.length
  const my = ps.reduce((a, [, y]) => a + y, 0) / ps.length
  let sxy = 0
  let sxx = 0
  for (const [x, y] of ps) {
    sxy += (x - mx) * (y - my)
    sxx += (x - mx) ** 2
  }
  return sxx === 0 ? NaN : (sxy / sxx) * 3600
}

type SoakSample = { t: number; a: Sample; b: Sample }
type Fit = { slopePerHour: number; mean: number; slopePctOfMeanPerHour: number; first: number; last: number; secondHalfSlopePerHour: number }
/** One window of the run: the highest RSS, and the lowest heap used (the floor garbage collection returns to). */
type Window = { fromS: number; rssMaxMb: number; heapFloorMb: number; handlesMax: number; fdsMax: number }

/**
 * The analysis of a run's samples (live, or read back from a samples file with SOAK_REPLAY): per
 * metric a least-squares slope over the samples after the warm-up and over the second half alone
 * (a garbage-collected heap is a sawtooth, and early samples still include one-off growth), and
 * 5-minute windows with RSS peaks and heap floors: a leak raises the floors, a sawtooth does not.
 */
function analyse(samples: readonly SoakSample[]): { fits: Record<'a' | 'b', Record<string, Fit>>; windows: Record<'a' | 'b', Window[]>; lines: string[] } {
  const after = samples.filter((s) => s.t >= WARMUP_S)
  const half = samples.filter((s) => s.t >= (samples.at(-1)?.t ?? 0) / 2)
  const fit = (node: 'a' | 'b') => {
    const out: Record<string, Fit> = {}
    for (const k of ['rss', ...Object.keys(PROM)]) {
      const pts = after.map((s) => [s.t, s[node][k] ?? NaN] as const)
      const ys = pts.map(([, y]) => y).filter(Number.isFinite)
      const mean = ys.length ? ys.reduce((x, y) => x + y, 0) / ys.length : NaN
      const slope = slopePerHour(pts)
      const secondHalf = slopePerHour(half.map((s) => [s.t, s[node][k] ?? NaN] as const))
      out[k] = { slopePerHour: round(slope, 1), mean: round(mean, 1), slopePctOfMeanPerHour: round((slope / mean) * 100, 2), first: ys[0] ?? NaN, last: ys.at(-1) ?? NaN, secondHalfSlopePerHour: round(secondHalf, 1) }
    }
    return out
  }
  const mb = (n: number) => round(n / 2 ** 20, 1)
  const windowsOf = (node: 'a' | 'b'): Window[] => {
    const out: Window[] = []
    for (let from = 0; from <= (samples.at(-1)?.t ?? 0); from += 300) {
      const w = samples.filter((s) => s.t >= from && s.t < from + 300).map((s) => s[node])
      if (w.length === 0) continue
      const vals = (k: string) => w.map((x) => x[k] ?? NaN).filter(Number.isFinite)
      out.push({ fromS: from, rssMaxMb: mb(Math.max(...vals('rss'))), heapFloorMb: mb(Math.min(...vals('heapUsed'))), handlesMax: Math.max(...vals('activeHandles')), fdsMax: Math.max(...vals('openFds')) })
    }
    return out
  }
  const fits = { a: fit('a'), b: fit('b') }
  const windows = { a: windowsOf('a'), b: windowsOf('b') }
  const lines = ['', `after a ${WARMUP_S} s warm-up, ${after.length} samples; least-squares slope per hour (and as % of the mean per hour); the second half alone`]
  for (const node of ['a', 'b'] as const) {
    for (const [k, f] of Object.entries(fits[node])) {
      const unit = k === 'rss' || k === 'heapUsed' ? 2 ** 20 : 1
      const u = unit === 1 ? '' : ' MB'
      lines.push(`  soak-${node} ${k.padEnd(14)} mean ${round(f.mean / unit, 1)}${u}  slope ${round(f.slopePerHour / unit, 2)}${u}/h  (${f.slopePctOfMeanPerHour}%/h)  second half ${round(f.secondHalfSlopePerHour / unit, 2)}${u}/h`)
    }
  }
  lines.push('', '5-minute windows: RSS peak / heap floor (MB), handles, descriptors')
  for (const node of ['a', 'b'] as const) {
    lines.push(`  soak-${node} ${windows[node].map((w) => `${w.fromS / 60}m ${w.rssMaxMb}/${w.heapFloorMb} ${w.handlesMax} ${w.fdsMax}`).join(' | ')}`)
  }
  return { fits, windows, lines }
}

/** SOAK_REPLAY=<samples.jsonl>: the analysis of a finished run, without running anything. */
function replay(file: string): void {
  const samples = readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as SoakSample)
  const { fits, windows, lines } = analyse(samples)
  process.stdout.write(`${lines.join('\n')}\n`)
  process.stdout.write(`${JSON.stringify({ bench: 'soak', replay: file, samples: samples.length, warmupS: WARMUP_S, fits, windows })}\n`)
}

// ---------------------------------------------------------------- orchestration

type Autocannon = (opts: Record<string, unknown>) => {
  on(event: 'response', fn: (client: unknown, status: number, bytes: number, ms: number) => void): void
  stop(): void
  then: Promise<{ errors: number; timeouts: number; non2xx: number; duration: number; requests: { total: number }; latency: { p50: number; p99: number; max: number } }>['then']
}

async function orchestrate(): Promise<void> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} missing: run npm run build`)
  const dir = mkdtempSync(join(tmpdir(), 'commy-soak-'))
  const samplesFile = env.SOAK_SAMPLES ?? join(tmpdir(), `commy-soak-${Date.now()}.jsonl`)
  writeFileSync(samplesFile, '')
  const key = randomBytes(32).toString('base64')
  const children: ChildProcess[] = []
  try {
    const up1 = start([SELF, 'upstream'], 0)
    const up2 = start([SELF, 'upstream'], 0)
    children.push(up1, up2)
    const [p1, p2] = await Promise.all([listening(up1, (v): v is number => typeof v === 'number'), listening(up2, (v): v is number => typeof v === 'number')])

    const b = await startNode(
      'soak-b',
      dir,
      nodeConfig('soak-b', dir, key, {
        listeners: [{ name: 'outbound', listen: '127.0.0.1:0', routes: [{ match: {}, service: 'echo' }] }],
        services: { echo: { strategy: 'round-robin' } },
        local: { services: [{ name: 'echo', address: `127.0.0.1:${p2}`, healthCheck: CHECK }] },
      }),
      0,
    )
    children.push(b.child)
    const aCfg = JSON.parse(
      nodeConfig('soak-a', dir, key, {
        listeners: [
          {
            name: 'outbound',
            listen: '127.0.0.1:0',
            routes: [
              { match: { pathPrefix: '/static' }, service: 'static' },
              { match: { pathPrefix: '/echo' }, service: 'echo' },
            ],
          },
        ],
        services: {
          static: { strategy: 'least-connections', endpoints: [{ address: `127.0.0.1:${p1}` }], healthCheck: CHECK },
          echo: { strategy: 'round-robin', healthCheck: { ...CHECK, remote: true } },
        },
      }),
    ) as { gossip: { seeds: string[] } }
    aCfg.gossip.seeds = [`127.0.0.1:${b.gossip}`]
    const a = await startNode('soak-a', dir, JSON.stringify(aCfg), 1)
    children.push(a.child)

    // the route over gossip answers before the load starts
    const ready = Date.now() + 20_000
    while ((await get(a.outbound, '/echo/x').catch(() => ({ status: 0 }))).status !== 200) {
      if (Date.now() > ready) throw new Error('soak-a never routed /echo over gossip')
      await new Promise((r) => setTimeout(r, 200))
    }
    process.stderr.write(
      `soak: ${MINUTES} min at ${RATE} req/s over ${CONNECTIONS} connections through ${a.name} (gossip peer ${b.name}, health checks every 1 s), samples every ${SAMPLE_S} s to ${samplesFile}${canPin ? ', node a pinned to cpu1' : ''}\n`,
    )

    const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon
    const statuses = new Map<number, number>()
    const load = autocannon({
      url: `http://127.0.0.1:${a.outbound}`,
      connections: CONNECTIONS,
      overallRate: RATE,
      duration: DURATION_S,
      requests: [{ path: '/static/x' }, { path: '/echo/x' }],
    })
    load.on('response', (_c, status) => statuses.set(status, (statuses.get(status) ?? 0) + 1))

    const t0 = Date.now()
    const samples: SoakSample[] = []
    const sampler = (async () => {
      while (Date.now() - t0 < DURATION_S * 1000) {
        const [sa, sb] = await Promise.all([sampleNode(a), sampleNode(b)])
        const s = { t: round((Date.now() - t0) / 1000, 1), a: sa, b: sb }
        samples.push(s)
        appendFileSync(samplesFile, `${JSON.stringify(s)}\n`)
        const mb = (n: number | undefined) => round((n ?? NaN) / 2 ** 20, 1)
        process.stderr.write(`  t=${String(Math.round(s.t)).padStart(5)}s  a: rss ${mb(sa.rss)} MB heap ${mb(sa.heapUsed)} MB handles ${sa.activeHandles} fds ${sa.openFds}   b: rss ${mb(sb.rss)} MB heap ${mb(sb.heapUsed)} MB\n`)
        const next = t0 + samples.length * SAMPLE_S * 1000
        await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())))
      }
    })()
    const result = await load
    await sampler

    const members = await get(a.admin, '/v1/members').then((r) => r.body).catch(() => '')
    const { fits, windows, lines } = analyse(samples)
    const total = [...statuses.values()].reduce((x, y) => x + y, 0)
    lines.push(
      `  load: ${total} responses (${round(total / (result.duration || DURATION_S), 0)} req/s), statuses ${JSON.stringify(Object.fromEntries(statuses))}, errors ${result.errors + result.timeouts}, p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, max ${result.latency.max} ms`,
      `  access log written: ${existsSync(a.log) ? round(statSync(a.log).size / 2 ** 20, 1) : 0} MB; samples: ${samplesFile}`,
      '',
    )
    process.stdout.write(`${lines.join('\n')}\n`)
    const summary = {
      bench: 'soak',
      ...machine(),
      main: MAIN,
      minutes: MINUTES,
      rate: RATE,
      connections: CONNECTIONS,
      sampleS: SAMPLE_S,
      warmupS: WARMUP_S,
      samples: samples.length,
      samplesFile,
      responses: total,
      statuses: Object.fromEntries(statuses),
      errors: result.errors + result.timeouts,
      latencyMs: { p50: result.latency.p50, p99: result.latency.p99, max: result.latency.max },
      membersSeenByA: (members.match(/"name"/g) ?? []).length,
      fits,
      windows,
    }
    process.stdout.write(`${JSON.stringify(summary)}\n`)
  } finally {
    for (const c of children.reverse()) await stop(c)
    rmSync(dir, { recursive: true, force: true })
  }
}

if (process.argv[2] === 'upstream') runUpstream()
else if (env.SOAK_REPLAY !== undefined) replay(env.SOAK_REPLAY)
else runMain(orchestrate)
