/**
 * `node dist/bench/h2-upstream.js`: HTTP/1.1 vs HTTP/2 from commy to the endpoints, the same small
 * request in one run. One commy process, one app process serving the same answer over HTTP/1.1
 * and h2c (prior knowledge); keep-alive autocannon load (HTTP/1.1) into commy's outbound listener:
 *
 * - `http1`: route `/h1` -> service with `protocol: http1` (undici pool, one request per connection);
 * - `http2`: route `/h2` -> service with `protocol: http2` (node:http2 sessions, streams multiplexed).
 *
 * Scenarios interleaved BENCH_REPEATS times, best run of each reported, with commy's CPU per
 * request. Pinning (taskset, when present): load generator and app on cpu0, commy on cpu1.
 * Env: BENCH_REPEATS (2), BENCH_DURATION s (10), BENCH_WARMUP s (2), BENCH_CONNECTIONS (50),
 * BENCH_BODY (100). Prints a table and one JSON summary line last.
 *
 * Roles (internal): `h2-upstream.js upstream`, `h2-upstream.js load URL S`.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import http from 'node:http'
import http2 from 'node:http2'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { canPin, listening, measure, round, runLoad, runMain, start, stop, type MeasuredRun } from './lib/harness.js'
import { startCommy } from './lib/mesh-nodes.js'
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
const SCENARIOS = ['http1', 'http2'] as const

interface Ports {
  readonly h1: number
  readonly h2: number
}

function runUpstream(): void {
  const body = Buffer.alloc(BODY, 'x')
  const h1 = http.createServer((req, res) => {
    req.resume()
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length }).end(body)
  })
  h1.keepAliveTimeout = 60_000
  const h2 = http2.createServer({ settings: { maxConcurrentStreams: 1000 } })
  h2.on('stream', (stream) => {
    stream.on('error', () => undefined)
    stream.resume()
    stream.respond({ ':status': 200, 'content-type': 'text/plain', 'content-length': body.length })
    stream.end(body)
  })
  let up = 0
  const ready = () => {
    if (++up < 2) return
    const port = (s: http.Server | http2.Http2Server) => (s.address() as { port: number }).port
    process.stdout.write(`${JSON.stringify({ listening: { h1: port(h1), h2: port(h2) } })}\n`)
  }
  h1.listen(0, '127.0.0.1', ready)
  h2.listen(0, '127.0.0.1', ready)
  process.on('SIGTERM', () => process.exit(0))
}

const isPorts = (v: unknown): v is Ports => typeof v === 'object' && v !== null && 'h1' in v && 'h2' in v

async function orchestrate(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'commy-bench-h2u-'))
  const upstream = start([SELF, 'upstream'], 0)
  const runs = new Map<string, MeasuredRun[]>()
  try {
    const ports = await listening(upstream, isPorts)
    const yaml = `admin: { listen: 127.0.0.1:0 }
log: { level: info, destination: $LOG, accessLog: false }
listeners:
  - name: outbound
    listen: 127.0.0.1:0
    routes:
      - { match: { pathPrefix: /h1 }, service: h1 }
      - { match: { pathPrefix: /h2 }, service: h2 }
services:
  h1: { protocol: http1, endpoints: [{ address: 127.0.0.1:${ports.h1} }] }
  h2: { protocol: http2, endpoints: [{ address: 127.0.0.1:${ports.h2} }] }
`
    const commy = await startCommy(MAIN, dir, 'commy', yaml, 1, false)
    process.stderr.write(`bench h2-upstream: ${CONNECTIONS} connections, ${WARMUP}s warm-up + ${DURATION}s each, ${BODY}-byte answers${canPin ? ', commy pinned to cpu1' : ''}\n`)
    try {
      for (let rep = 0; rep < REPEATS; rep++) {
        for (const name of SCENARIOS) {
          const url = `http://127.0.0.1:${commy.ports.outbound}/${name === 'http1' ? 'h1' : 'h2'}/x`
          const r = await measure(SELF, name, url, commy.child, WARMUP, DURATION)
          runs.set(name, [...(runs.get(name) ?? []), r])
          process.stderr.write(`  [${rep + 1}/${REPEATS}] ${name.padEnd(6)} ${String(r.rps).padStart(7)} req/s  p50 ${r.p50Ms} ms  p99 ${r.p99Ms} ms  CPU ${r.proxyCpuPct ?? '-'}%  ${r.proxyCpuUsPerRequest ?? '-'} µs/req  errors ${r.errors + r.non2xx}\n`)
        }
      }
    } finally {
      await stop(commy.child)
    }
  } finally {
    await stop(upstream)
    rmSync(dir, { recursive: true, force: true })
  }
  const results = SCENARIOS.map((name) => {
    const all = runs.get(name)!
    return { ...all.reduce((x, y) => (y.rps > x.rps ? y : x)), rpsRuns: all.map((r) => r.rps) }
  })
  const [h1, h2] = results as [MeasuredRun & { rpsRuns: number[] }, MeasuredRun & { rpsRuns: number[] }]
  const ratios = {
    'http2/http1 req/s': h1.rps > 0 ? round(h2.rps / h1.rps) : undefined,
    'http2/http1 CPU per request': h1.proxyCpuUsPerRequest && h2.proxyCpuUsPerRequest ? round(h2.proxyCpuUsPerRequest / h1.proxyCpuUsPerRequest) : undefined,
  }
  const lines = [
    '',
    `best of ${REPEATS} interleaved runs per scenario`,
    'upstream  req/s    p50 ms   p99 ms   CPU%   µs CPU/req  errors  runs (req/s)',
    ...results.map(
      (r) =>
        `${r.scenario.padEnd(7)} ${String(r.rps).padStart(7)}  ${String(r.p50Ms).padStart(7)}  ${String(r.p99Ms).padStart(7)}  ${String(r.proxyCpuPct ?? '-').padStart(5)}  ${String(r.proxyCpuUsPerRequest ?? '-').padStart(10)}  ${String(r.errors + r.non2xx).padStart(6)}  ${r.rpsRuns.join(' ')}`,
    ),
    '',
    ...ratioLines(ratios, 30),
    '',
  ]
  report(lines, {
    bench: 'h2-upstream',
    pinned: canPin,
    connections: CONNECTIONS,
    durationS: DURATION,
    repeats: REPEATS,
    bodyBytes: BODY,
    results,
    ratios,
  })
}

const [role, ...rest] = process.argv.slice(2)
if (role === 'upstream') runUpstream()
else if (role === 'load') void runLoad(rest[0]!, Number(rest[1] ?? DURATION), { connections: CONNECTIONS })
else runMain(orchestrate)
