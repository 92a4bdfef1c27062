/**
 * `node dist/bench/mtls.js`: what mutual TLS between sidecars costs. Two commy processes, A (the
 * caller's sidecar) and B (the callee's), and B's app; keep-alive autocannon load into A's
 * outbound listener. Scenarios, interleaved BENCH_REPEATS times, best run of each reported:
 *
 * - `plain`: today's plaintext mesh — B has no `tls`/`inbound` and announces its app's own
 *   address over gossip; A sends straight to the app (one proxy hop);
 * - `plain-2hop`: the same two proxy hops as mTLS, in plaintext — A → B's outbound listener → app
 *   (static endpoints): isolates what TLS itself costs;
 * - `mtls`: A → B's inbound (mTLS, identities checked, allow list) → app, learned over gossip.
 *
 * Then new-connection handshakes per second against B's inbound: a child process opening TLS
 * connections with a client certificate (no session resumption, BENCH_HS_CONCURRENCY at once)
 * for BENCH_HS_DURATION s, with B's CPU per handshake.
 *
 * Pinning (taskset, when present): load generator and app on cpu0, A and B on cpu1 — both
 * sidecars share one core, and CPU per request is A's plus B's.
 * Env: BENCH_REPEATS (2), BENCH_DURATION s (10), BENCH_WARMUP s (2), BENCH_CONNECTIONS (50),
 * BENCH_BODY (100), BENCH_SCENARIOS (plain,plain-2hop,mtls), BENCH_HS_DURATION (5),
 * BENCH_HS_CONCURRENCY (8). Prints a table and one JSON summary line last.
 *
 * Roles (internal): `mtls.js upstream`, `mtls.js load URL S`, `mtls.js handshakes PORT S N FILES.json`.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import tls from 'node:tls'
import { fileURLToPath } from 'node:url'
import { canPin, cpuSeconds, listening, load, round, runLoad, runMain, start, stop, type LoadResult } from './lib/harness.js'
import { freePort, meshPki, startCommy, tlsYaml, untilEndpoints, writeTls, type CommyProc, type TlsFiles } from './lib/mesh-nodes.js'
import { ratioLines, report } from './lib/machine.js'

const HERE = dirname(fileURLToPath(import.meta.url))
const SELF = fileURLToPath(import.meta.url)
const MAIN = join(HERE, '../src/main.js')
const env = process.env
const DURATION = Number(env.BENCH_DURATION ?? 10)
const WARMUP = Number(env.BENCH_WARMUP ?? 2)
const CONNECTIONS = Number(env.BENCH_CONNECTIONS ?? 50)
const BODY = Number(env.BENCH_BODY ?? 100)
const REPEATS = Math.max(1, Number(env.BENCH_REPEATS ?? 2))
const HS_DURATION = Number(env.BENCH_HS_DURATION ?? 5)
const HS_CONCURRENCY = Number(env.BENCH_HS_CONCURRENCY ?? 8)
const SCENARIOS = (env.BENCH_SCENARIOS ?? 'plain,plain-2hop,mtls').split(',').map((s) => s.trim()).filter(Boolean)
const CLUSTER = 'bench'

interface Run extends LoadResult {
  readonly scenario: string
  /** CPU of A and B together: 100 = one core. */
  readonly sidecarsCpuPct: number | undefined
  readonly cpuUsPerRequestA: number | undefined
  readonly cpuUsPerRequestB: number | undefined
  readonly cpuUsPerRequest: number | undefined
  rpsRuns?: number[]
}

// ---------------------------------------------------------------- roles

function runUpstream(): void {
  const body = Buffer.alloc(BODY, 'x')
  const server = http.createServer((req, res) => {
    req.resume()
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length }).end(body)
  })
  server.keepAliveTimeout = 60_000
  server.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ listening: (server.address() as { port: number }).port })}\n`))
  process.on('SIGTERM', () => process.exit(0))
}

/** Full TLS handshakes (client certificate, no resumption) against 127.0.0.1:port for `seconds`. */
async function runHandshakes(port: number, seconds: number, concurrency: number, filesJson: string): Promise<void> {
  const f = JSON.parse(readFileSync(filesJson, 'utf8')) as TlsFiles
  const options: tls.ConnectionOptions = {
    host: '127.0.0.1',
    port,
    servername: 'users',
    ca: readFileSync(f.ca),
    cert: readFileSync(f.cert),
    key: readFileSync(f.key),
    checkServerIdentity: () => undefined,
  }
  const end = Date.now() + seconds * 1000
  let done = 0
  let errors = 0
  const one = () =>
    new Promise<void>((resolve) => {
      const s = tls.connect(options, () => {
        // TLS 1.3: the server checks the client certificate on the client's Finished; a byte back proves it accepted
        s.write('GET /hs HTTP/1.1\r\nHost: users\r\nConnection: close\r\n\r\n')
      })
      let ok = false
      s.once('data', () => {
        ok = true
        s.destroy()
      })
      s.on('error', () => undefined)
      s.on('close', () => {
        if (ok) done++
        else errors++
        resolve()
      })
    })
  const t0 = performance.now()
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (Date.now() < end) await one()
  }))
  const wall = (performance.now() - t0) / 1000
  process.stdout.write(`${JSON.stringify({ handshakes: done, perSecond: round(done / wall, 0), errors })}\n`)
}

// ---------------------------------------------------------------- scenarios

const header = (name: string) => `node: { name: ${name} }
admin: { listen: 127.0.0.1:0 }
log: { level: info, destination: $LOG, accessLog: false }
`

interface Mesh {
  readonly a: CommyProc
  readonly b: CommyProc
  /** B's inbound port (mtls only). */
  readonly inbound: number
}

async function startMesh(name: string, appPort: number, dir: string, tlsA: TlsFiles, tlsB: TlsFiles): Promise<Mesh> {
  const gossip = (seeds: string) => `gossip: { listen: 127.0.0.1:0, cluster: ${CLUSTER}, profile: local, seeds: [${seeds}] }\n`
  const route = (service: string) => `listeners:\n  - name: outbound\n    listen: 127.0.0.1:0\n    routes: [{ match: {}, service: ${service} }]\n`
  if (name === 'plain-2hop') {
    const b = await startCommy(MAIN, dir, 'b', `${header('b')}${route('app')}services:\n  app: { endpoints: [{ address: 127.0.0.1:${appPort} }] }\n`, 1, false)
    const a = await startCommy(MAIN, dir, 'a', `${header('a')}${route('users')}services:\n  users: { endpoints: [{ address: 127.0.0.1:${b.ports.outbound} }] }\n`, 1, false)
    return { a, b, inbound: 0 }
  }
  const mtls = name === 'mtls'
  const inbound = mtls ? await freePort() : 0
  const b = await startCommy(
    MAIN, dir, 'b',
    `${header('b')}${route('users')}services:\n  users: {}\n${gossip('')}local:\n  services: [{ name: users, address: 127.0.0.1:${appPort}, allow: [payments] }]\n` +
      (mtls ? `${tlsYaml(tlsB)}inbound: { listen: 127.0.0.1:${inbound} }\n` : ''),
    1, true,
  )
  const a = await startCommy(MAIN, dir, 'a', `${header('a')}${route('users')}services:\n  users: {}\n${gossip(`127.0.0.1:${b.ports.gossip}`)}${mtls ? tlsYaml(tlsA) : ''}`, 1, true)
  await untilEndpoints(a, 'users', 1)
  return { a, b, inbound }
}

async function measureMesh(name: string, m: Mesh): Promise<Run> {
  const url = `http://127.0.0.1:${m.a.ports.outbound}/`
  if (WARMUP > 0) await load(SELF, url, WARMUP)
  const a0 = cpuSeconds(m.a.child.pid)
  const b0 = cpuSeconds(m.b.child.pid)
  const t0 = performance.now()
  const r = await load(SELF, url, DURATION)
  const wall = (performance.now() - t0) / 1000
  const a = a0 === undefined ? undefined : cpuSeconds(m.a.child.pid)! - a0
  const b = b0 === undefined ? undefined : cpuSeconds(m.b.child.pid)! - b0
  const per = (cpu: number | undefined) => (cpu === undefined || r.requests === 0 ? undefined : round((cpu * 1e6) / r.requests, 1))
  return {
    scenario: name,
    ...r,
    rps: round(r.rps, 0),
    sidecarsCpuPct: a === undefined || b === undefined ? undefined : round(((a + b) / wall) * 100, 0),
    cpuUsPerRequestA: per(a),
    cpuUsPerRequestB: per(b),
    cpuUsPerRequest: a === undefined || b === undefined ? undefined : per(a + b),
  }
}

async function handshakes(m: Mesh, filesJson: string): Promise<Record<string, number | undefined>> {
  const b0 = cpuSeconds(m.b.child.pid)
  const child = start([SELF, 'handshakes', String(m.inbound), String(HS_DURATION), String(HS_CONCURRENCY), filesJson], 0)
  let out = ''
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()))
  await new Promise((r) => child.once('exit', r))
  const b1 = cpuSeconds(m.b.child.pid)
  const r = JSON.parse(out.trim().split('\n').at(-1)!) as { handshakes: number; perSecond: number; errors: number }
  return { ...r, cpuUsPerHandshakeB: b0 === undefined || b1 === undefined || r.handshakes === 0 ? undefined : round(((b1 - b0) * 1e6) / r.handshakes, 1) }
}

async function orchestrate(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'commy-bench-mtls-'))
  const upstream = start([SELF, 'upstream'], 0)
  const runs = new Map<string, Run[]>()
  let hs: Record<string, number | undefined> | undefined
  try {
    const appPort = await listening(upstream, (v): v is number => typeof v === 'number')
    const pki = await meshPki(CLUSTER, ['payments', 'users'])
    const tlsA = writeTls(dir, 'a', pki.ca.cert, pki.leaves.get('payments')!)
    const tlsB = writeTls(dir, 'b', pki.ca.cert, pki.leaves.get('users')!)
    const filesJson = join(dir, 'client.json')
    writeFileSync(filesJson, JSON.stringify(tlsA))
    process.stderr.write(`bench mtls: ${SCENARIOS.join(', ')} — ${CONNECTIONS} connections, ${WARMUP}s warm-up + ${DURATION}s each, ${BODY}-byte answers${canPin ? ', A and B pinned to cpu1' : ''}\n`)
    for (let rep = 0; rep < REPEATS; rep++) {
      for (const name of SCENARIOS) {
        const m = await startMesh(name, appPort, dir, tlsA, tlsB)
        try {
          const r = await measureMesh(name, m)
          runs.set(name, [...(runs.get(name) ?? []), r])
          process.stderr.write(`  [${rep + 1}/${REPEATS}] ${name.padEnd(11)} ${String(r.rps).padStart(7)} req/s  p50 ${r.p50Ms} ms  p99 ${r.p99Ms} ms  A+B CPU ${r.sidecarsCpuPct ?? '-'}%  ${r.cpuUsPerRequest ?? '-'} µs/req  errors ${r.errors + r.non2xx}\n`)
          if (name === 'mtls' && rep === REPEATS - 1) hs = await handshakes(m, filesJson)
        } finally {
          await stop(m.a.child)
          await stop(m.b.child)
        }
      }
    }
  } finally {
    await stop(upstream)
    rmSync(dir, { recursive: true, force: true })
  }

  const results: Run[] = SCENARIOS.map((name) => {
    const all = runs.get(name)!
    return { ...all.reduce((x, y) => (y.rps > x.rps ? y : x)), rpsRuns: all.map((r) => r.rps) }
  })
  const by = (n: string) => results.find((r) => r.scenario === n)
  const ratio = (x: number | undefined, y: number | undefined) => (x !== undefined && y !== undefined && y > 0 ? round(x / y) : undefined)
  const ratios: Record<string, number | undefined> = {
    'mtls/plain-2hop req/s': ratio(by('mtls')?.rps, by('plain-2hop')?.rps),
    'mtls/plain req/s': ratio(by('mtls')?.rps, by('plain')?.rps),
    'mtls/plain-2hop CPU per request': ratio(by('mtls')?.cpuUsPerRequest, by('plain-2hop')?.cpuUsPerRequest),
    'mtls/plain CPU per request': ratio(by('mtls')?.cpuUsPerRequest, by('plain')?.cpuUsPerRequest),
  }
  for (const k of Object.keys(ratios)) if (ratios[k] === undefined) delete ratios[k]
  const target = ratios['mtls/plain-2hop req/s']
  const lines = [
    '',
    `best of ${REPEATS} interleaved runs per scenario`,
    'scenario      req/s    p50 ms   p99 ms   A+B CPU%  µs CPU/req (A + B)   errors  runs (req/s)',
    ...results.map(
      (r) =>
        `${r.scenario.padEnd(11)} ${String(r.rps).padStart(7)}  ${String(r.p50Ms).padStart(7)}  ${String(r.p99Ms).padStart(7)}  ${String(r.sidecarsCpuPct ?? '-').padStart(8)}  ${String(r.cpuUsPerRequest ?? '-').padStart(7)} (${r.cpuUsPerRequestA ?? '-'} + ${r.cpuUsPerRequestB ?? '-'})  ${String(r.errors + r.non2xx).padStart(6)}  ${(r.rpsRuns ?? []).join(' ')}`,
    ),
    '',
    ...ratioLines(ratios, 34),
    ...(target !== undefined ? [`target mtls >= 0.8x plaintext (same two hops): ${target >= 0.8 ? 'met' : 'NOT met'}`] : []),
    ...(hs ? [`handshakes: ${hs.perSecond}/s new mTLS connections to B's inbound (${HS_CONCURRENCY} at once), ${hs.cpuUsPerHandshakeB ?? '-'} µs of B's CPU each, ${hs.errors} failed`] : []),
    '',
  ]
  report(lines, {
    bench: 'mtls',
    pinned: canPin,
    connections: CONNECTIONS,
    durationS: DURATION,
    repeats: REPEATS,
    bodyBytes: BODY,
    results,
    ratios,
    handshakes: hs,
  })
}

const [role, ...rest] = process.argv.slice(2)
if (role === 'upstream') runUpstream()
else if (role === 'load') void runLoad(rest[0]!, Number(rest[1] ?? DURATION), { connections: CONNECTIONS })
else if (role === 'handshakes') void runHandshakes(Number(rest[0]), Number(rest[1]), Number(rest[2]), rest[3]!)
else runMain(orchestrate)
