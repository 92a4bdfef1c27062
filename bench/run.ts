/**
 * `npm run bench`: HTTP throughput and latency of commy against baselines measured in the same
 * run — the upstream directly, a plain http-proxy forwarder, and bare undici forwarders.
 * Upstream, proxy and load generator are separate processes (pinned with taskset when present:
 * proxy on cpu1, load generator and upstream on cpu0). Prints a table, the ratios, and one JSON
 * summary line last.
 *
 * Scenarios run interleaved BENCH_REPEATS times (A B C, A B C); each reports its best run: on a
 * shared machine interference only ever lowers throughput, so the best run is the least disturbed.
 * A run where the proxy did not reach 85% of a CPU is flagged: then the load generator (or another
 * process) was the limit, not the proxy.
 *
 * Env: BENCH_SCENARIOS (default direct,http-proxy,undici-dispatch,commy; also undici-request,
 * commy-nolog, commy-baseline), BENCH_REPEATS (2), BENCH_DURATION s (10), BENCH_WARMUP s (2),
 * BENCH_CONNECTIONS (50), BENCH_BODY bytes of the upstream answer (100).
 *
 * Before and after a change, in one run: build the old commit somewhere (`git worktree add
 * /tmp/base <rev> && cd /tmp/base && npm ci`), then
 * `BENCH_BASELINE=/tmp/base/dist/src/main.js BENCH_SCENARIOS=http-proxy,commy-baseline,commy npm run bench`:
 * `commy-baseline` is that build with the same config, interleaved with this one.
 *
 * Roles (internal): `run.js upstream`, `run.js load URL` run in child processes.
 */
import type { ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { canPin, commyPort, listening, measure, round, runLoad, runMain, start, stop, type MeasuredRun } from './lib/harness.js'
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
const BASELINE = env.BENCH_BASELINE
const SCENARIOS = (env.BENCH_SCENARIOS ?? 'direct,http-proxy,undici-dispatch,commy').split(',').map((s) => s.trim()).filter(Boolean)

interface ScenarioResult extends MeasuredRun {
  /** req/s of every repeat (the result above is the best). */
  rpsRuns?: number[]
  /** The proxy stayed below 85% CPU: something else limited this run. */
  limited?: boolean
}

// ---------------------------------------------------------------- roles

function runUpstream(): void {
  const body = Buffer.alloc(BODY, 'x')
  const server = http.createServer((req, res) => {
    req.resume()
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length })
    res.end(body)
  })
  server.keepAliveTimeout = 60_000
  server.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ listening: (server.address() as { port: number }).port })}\n`))
  process.on('SIGTERM', () => process.exit(0))
}

// ---------------------------------------------------------------- orchestration

/** First JSON line on stdout with `listening`. */
const listeningPort = (child: ChildProcess) => listening(child, (v): v is number => typeof v === 'number')

function commyConfig(upstreamPort: number, dir: string, accessLog: boolean): string {
  return `node: { name: bench }
admin: { listen: 127.0.0.1:0 }
log: { level: info, destination: ${join(dir, 'commy.log')}, accessLog: ${accessLog} }
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
`
}

async function scenario(name: string, upstreamPort: number, dir: string): Promise<ScenarioResult> {
  let proxy: ChildProcess | undefined
  let port = upstreamPort
  const target = `127.0.0.1:${upstreamPort}`
  if (name === 'commy' || name === 'commy-nolog' || name === 'commy-baseline') {
    rmSync(join(dir, 'commy.log'), { force: true })
    const file = join(dir, `${name}.yaml`)
    writeFileSync(file, commyConfig(upstreamPort, dir, name !== 'commy-nolog'))
    const main = name === 'commy-baseline' ? BASELINE : MAIN
    if (main === undefined) throw new Error('commy-baseline needs BENCH_BASELINE=<path of another build\'s dist/src/main.js>')
    proxy = start([main, '--config', file], 1)
    port = await commyPort(join(dir, 'commy.log'), proxy)
  } else if (name !== 'direct') {
    const script = join(HERE, 'forwarders', `${name}.js`)
    if (!existsSync(script)) throw new Error(`unknown scenario ${name}`)
    proxy = start([script, '--port', '0', '--target', target], 1)
    port = await listeningPort(proxy)
  }
  const url = `http://127.0.0.1:${port}/`
  try {
    return await measure(SELF, name, url, proxy, WARMUP, DURATION)
  } finally {
    if (proxy) await stop(proxy)
  }
}

async function orchestrate(): Promise<void> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} missing: run npm run build`)
  const dir = mkdtempSync(join(tmpdir(), 'commy-bench-'))
  const upstream = start([SELF, 'upstream'], 0)
  const results: ScenarioResult[] = []
  try {
    const upstreamPort = await listeningPort(upstream)
    process.stderr.write(
      `bench: ${SCENARIOS.join(', ')} — ${CONNECTIONS} connections, ${WARMUP}s warm-up + ${DURATION}s each, ${BODY}-byte answers${canPin ? ', proxy pinned to cpu1' : ''}\n`,
    )
    const runs = new Map<string, ScenarioResult[]>()
    for (let rep = 0; rep < REPEATS; rep++) {
      for (const name of SCENARIOS) {
        const r = await scenario(name, upstreamPort, dir)
        runs.set(name, [...(runs.get(name) ?? []), r])
        process.stderr.write(
          `  [${rep + 1}/${REPEATS}] ${name.padEnd(16)} ${String(r.rps).padStart(7)} req/s  p50 ${r.p50Ms} ms  p99 ${r.p99Ms} ms  proxy CPU ${r.proxyCpuPct ?? '-'}%  errors ${r.errors + r.non2xx}\n`,
        )
      }
    }
    for (const name of SCENARIOS) {
      const all = runs.get(name)!
      const best = all.reduce((a, b) => (b.rps > a.rps ? b : a))
      results.push({
        ...best,
        rpsRuns: all.map((r) => r.rps),
        limited: best.proxyCpuPct !== undefined && best.proxyCpuPct < 85,
      })
    }
  } finally {
    await stop(upstream)
    rmSync(dir, { recursive: true, force: true })
  }

  const by = (n: string) => results.find((r) => r.scenario === n)
  const ratio = (a: string, b: string) => {
    const x = by(a)
    const y = by(b)
    return x && y && y.rps > 0 ? round(x.rps / y.rps) : undefined
  }
  const ratios: Record<string, number | undefined> = {
    'commy/http-proxy': ratio('commy', 'http-proxy'),
    'commy/direct': ratio('commy', 'direct'),
    'commy/undici-dispatch': ratio('commy', 'undici-dispatch'),
    'undici-dispatch/http-proxy': ratio('undici-dispatch', 'http-proxy'),
    'undici-request/http-proxy': ratio('undici-request', 'http-proxy'),
    'undici-dispatch/undici-request': ratio('undici-dispatch', 'undici-request'),
    'commy-nolog/http-proxy': ratio('commy-nolog', 'http-proxy'),
    'commy/commy-baseline': ratio('commy', 'commy-baseline'),
    'commy-baseline/http-proxy': ratio('commy-baseline', 'http-proxy'),
  }
  // CPU per request against the baseline build (lower is better; steadier than req/s on a shared machine)
  const cpuOf = (n: string) => by(n)?.proxyCpuUsPerRequest
  const cpuNow = cpuOf('commy')
  const cpuBase = cpuOf('commy-baseline')
  if (cpuNow !== undefined && cpuBase !== undefined && cpuBase > 0) ratios['commy/commy-baseline CPU per request'] = round(cpuNow / cpuBase)
  for (const k of Object.keys(ratios)) if (ratios[k] === undefined) delete ratios[k]

  const lines = [
    '',
    `best of ${REPEATS} interleaved runs per scenario`,
    'scenario           req/s    p50 ms   p99 ms   proxy CPU%  µs CPU/req  errors  runs (req/s)',
    ...results.map(
      (r) =>
        `${r.scenario.padEnd(16)} ${String(r.rps).padStart(7)}  ${String(r.p50Ms).padStart(7)}  ${String(r.p99Ms).padStart(7)}  ${String(r.proxyCpuPct ?? '-').padStart(10)}  ${String(r.proxyCpuUsPerRequest ?? '-').padStart(10)}  ${String(r.errors + r.non2xx).padStart(6)}  ${(r.rpsRuns ?? []).join(' ')}${r.limited ? '  (proxy below 85% CPU: limited by something else)' : ''}`,
    ),
    '',
    ...ratioLines(ratios, 32),
    ...(ratios['commy/http-proxy'] !== undefined ? [`target commy/http-proxy >= 1.5x: ${ratios['commy/http-proxy'] >= 1.5 ? 'met' : 'NOT met'}`] : []),
    '',
  ]
  report(lines, {
    bench: 'http-forwarding',
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
