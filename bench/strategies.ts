/**
 * HTTP throughput through commy for every balancing strategy, against round robin measured in
 * the same run, plus the cost of the resilience layers (round robin with breaker and outlier
 * detection on, the default, vs `enabled: false`). commy (the real CLI), the three upstream
 * endpoints and the autocannon load generator are separate processes (pinned with taskset when
 * present: commy on cpu1, upstreams and load on cpu0). Every request has its own path
 * (`/item/<id>`), which consistent-hash uses as its key.
 *
 * Scenarios run interleaved BENCH_REPEATS times; each reports its best run (on a shared machine
 * interference only lowers throughput). Besides req/s, commy's CPU time per request is reported:
 * it stays meaningful when commy is not the bottleneck (e.g. other processes take the CPU).
 *
 * A micro measurement runs first, in this process, without sockets: the cost of one try through
 * the pipeline layers around an instant fake transport — endpoint stats alone (a Sidecar without
 * plugins), with the resilience layers and breaker/outlier `enabled: false`, and with the defaults.
 *
 * Prints a table, the ratios, and one JSON summary line last.
 *
 * Env: BENCH_SCENARIOS (default: every strategy and round-robin-no-resilience), BENCH_REPEATS (2),
 * BENCH_DURATION s (5), BENCH_WARMUP s (1), BENCH_CONNECTIONS (50).
 * Run: `npm run build && node dist/bench/strategies.js`.
 * Roles (internal): `strategies.js upstream N`, `strategies.js load URL SECONDS`.
 */
import type { ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { canPin, commyPort, listening, measure, round, runLoad, runMain, start, stop, type MeasuredRun } from './lib/harness.js'
import pino from 'pino'
import { systemClock } from '../src/clock.js'
import { parseConfig } from '../src/config/load.js'
import { StaticDiscovery } from '../src/discovery/static.js'
import { EndpointRegistry } from '../src/discovery/registry.js'
import { AlwaysHealthy } from '../src/health/health-source.js'
import { endpointStats } from '../src/pipeline/endpoint-stats.js'
import { compose, type Attempt, type Send, type UpstreamResponse } from '../src/pipeline/pipeline.js'
import { createResiliencePlugin } from '../src/plugins/resilience.js'
import { machine } from './lib/machine.js'

const HERE = dirname(fileURLToPath(import.meta.url))
const SELF = fileURLToPath(import.meta.url)
const MAIN = join(HERE, '../src/main.js')
const env = process.env
const DURATION = Number(env.BENCH_DURATION ?? 5)
const WARMUP = Number(env.BENCH_WARMUP ?? 1)
const CONNECTIONS = Number(env.BENCH_CONNECTIONS ?? 50)
const REPEATS = Math.max(1, Number(env.BENCH_REPEATS ?? 2))
const ENDPOINTS = 3
const STRATEGIES = ['round-robin', 'weighted', 'least-connections', 'latency', 'random', 'consistent-hash'] as const
const NO_RESILIENCE = 'round-robin-no-resilience'
const SCENARIOS = (env.BENCH_SCENARIOS ?? [...STRATEGIES, NO_RESILIENCE].join(',')).split(',').map((s) => s.trim()).filter(Boolean)

/** proxyCpuUsPerRequest: CPU µs commy spent per request, the per-request cost even when commy is not the bottleneck. */
interface ScenarioResult extends MeasuredRun {
  rpsRuns?: number[]
}

// ---------------------------------------------------------------- roles

function runUpstreams(n: number): void {
  const body = Buffer.alloc(100, 'x')
  const ports: number[] = []
  for (let i = 0; i < n; i++) {
    const server = http.createServer((req, res) => {
      req.resume()
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length })
      res.end(body)
    })
    server.keepAliveTimeout = 60_000
    server.listen(0, '127.0.0.1', () => {
      ports.push((server.address() as { port: number }).port)
      if (ports.length === n) process.stdout.write(`${JSON.stringify({ listening: ports })}\n`)
    })
  }
  process.on('SIGTERM', () => process.exit(0))
}

// ---------------------------------------------------------------- micro: layer cost per try

interface LayerCost {
  /** ns per try through endpoint stats alone. */
  readonly statsOnlyNs: number
  /** ns per try with the resilience layers, breaker and outlier detection disabled. */
  readonly resilienceDisabledNs: number
  /** ns per try with the resilience layers as configured by default. */
  readonly resilienceNs: number
}

async function layerCost(): Promise<LayerCost> {
  const yaml = (off: boolean) => `listeners: [{ name: o, listen: 127.0.0.1:0, routes: [{ match: {}, service: s }] }]
services:
  s:
    endpoints: [{ address: 127.0.0.1:1 }, { address: 127.0.0.1:2 }]
${off ? '    breaker: { enabled: false }\n    outlierDetection: { enabled: false }\n' : ''}`
  const pipeline = (off: boolean | undefined) => {
    const config = parseConfig(yaml(off === true), 'bench.yaml')
    const registry = new EndpointRegistry({ services: config.services, localZone: undefined, now: () => systemClock.now(), sources: [new StaticDiscovery(config.services)], health: new AlwaysHealthy() })
    registry.start()
    const ep = registry.service('s')!.snapshot.all[0]!
    const res: UpstreamResponse = { status: 200, statusText: '', headers: [], endpoint: ep, requestBodyBytes: 0, body: { pipe() {}, resume() {}, destroy() {}, onDone: (cb) => cb(undefined) } }
    const transport: Send = () => Promise.resolve(res)
    const attempt: Attempt = { endpoint: ep, request: { method: 'GET', path: '/', headers: [], body: null, requestId: 'r', service: 's' }, try: 1, timeoutMs: 0, signal: new AbortController().signal, setCanceller() {} }
    if (off === undefined) return { send: compose([endpointStats(systemClock)], transport), attempt, stop: () => registry.stop() }
    const plugin = createResiliencePlugin({ config, currentConfig: () => config, clock: systemClock, random: Math.random, logger: pino({ level: 'silent' }) })
    plugin.attach?.({ endpoints: registry, startedAt: 0, overload: () => ({ refused: new Map(), accessLogDropped: 0, descriptorExhaustion: { accept: 0, connect: 0 } }) })
    return { send: compose([...(plugin.layers ?? []), endpointStats(systemClock, plugin.endpointStats)], transport), attempt, stop: () => void plugin.stop() }
  }
  const variants = [pipeline(undefined), pipeline(true), pipeline(false)]
  const best = [Infinity, Infinity, Infinity]
  const n = 100_000
  for (let round = 0; round < 5; round++) {
    for (let v = 0; v < variants.length; v++) {
      const { send, attempt } = variants[v]!
      const t0 = performance.now()
      for (let i = 0; i < n; i++) await send(attempt)
      best[v] = Math.min(best[v]!, ((performance.now() - t0) * 1e6) / n)
    }
  }
  for (const v of variants) v.stop()
  return { statsOnlyNs: round(best[0]!, 0), resilienceDisabledNs: round(best[1]!, 0), resilienceNs: round(best[2]!, 0) }
}

// ---------------------------------------------------------------- orchestration

const listeningPorts = (child: ChildProcess) => listening(child, (v): v is number[] => Array.isArray(v))
const LISTENING = /"listener":"outbound","address":"127\.0\.0\.1:(\d+)","msg":"listening"/

function commyConfig(scenario: string, ports: readonly number[], dir: string): string {
  const off = scenario === NO_RESILIENCE
  const strategy = off ? 'round-robin' : scenario
  const lines = [
    'node: { name: bench }',
    'admin: { listen: 127.0.0.1:0 }',
    `log: { level: info, destination: ${join(dir, 'commy.log')}, accessLog: false }`,
    'listeners:',
    '  - name: outbound',
    '    listen: 127.0.0.1:0',
    '    routes:',
    '      - match: {}',
    '        service: upstream',
    'services:',
    '  upstream:',
    `    strategy: ${strategy}`,
    ...(strategy === 'consistent-hash' ? ['    hashKey: path'] : []),
    `    endpoints: [${ports.map((p, i) => `{ address: 127.0.0.1:${p}${strategy === 'weighted' || strategy === 'random' ? `, weight: ${i + 1}` : ''} }`).join(', ')}]`,
    ...(off ? ['    breaker: { enabled: false }', '    outlierDetection: { enabled: false }'] : []),
  ]
  return `${lines.join('\n')}\n`
}

async function scenario(name: string, ports: readonly number[], dir: string): Promise<ScenarioResult> {
  const log = join(dir, 'commy.log')
  rmSync(log, { force: true })
  const file = join(dir, `${name}.yaml`)
  writeFileSync(file, commyConfig(name, ports, dir))
  const proxy = start([MAIN, '--config', file], 1)
  try {
    const port = await commyPort(log, proxy, LISTENING)
    const url = `http://127.0.0.1:${port}/item/[<id>]`
    return await measure(SELF, name, url, proxy, WARMUP, DURATION)
  } finally {
    await stop(proxy)
  }
}

async function orchestrate(): Promise<void> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} missing: run npm run build`)
  const layers = await layerCost()
  process.stderr.write(
    `micro, one try through the layers (best of 5 × 100k): endpoint stats only ${layers.statsOnlyNs} ns, + resilience layers with breaker/outlier disabled ${layers.resilienceDisabledNs} ns, + resilience layers (defaults) ${layers.resilienceNs} ns\n`,
  )
  const dir = mkdtempSync(join(tmpdir(), 'commy-bench-strategies-'))
  const upstreams = start([SELF, 'upstream', String(ENDPOINTS)], 0)
  const results: ScenarioResult[] = []
  try {
    const ports = await listeningPorts(upstreams)
    process.stderr.write(
      `bench strategies: ${SCENARIOS.join(', ')} — ${ENDPOINTS} endpoints, ${CONNECTIONS} connections, ${WARMUP}s warm-up + ${DURATION}s each, best of ${REPEATS}${canPin ? ', commy pinned to cpu1' : ''}\n`,
    )
    const runs = new Map<string, ScenarioResult[]>()
    for (let rep = 0; rep < REPEATS; rep++) {
      for (const name of SCENARIOS) {
        const r = await scenario(name, ports, dir)
        runs.set(name, [...(runs.get(name) ?? []), r])
        process.stderr.write(
          `  [${rep + 1}/${REPEATS}] ${name.padEnd(26)} ${String(r.rps).padStart(7)} req/s  p50 ${r.p50Ms} ms  p99 ${r.p99Ms} ms  commy CPU ${r.proxyCpuPct ?? '-'}% (${r.proxyCpuUsPerRequest ?? '-'} µs/req)  errors ${r.errors + r.non2xx}\n`,
        )
      }
    }
    for (const name of SCENARIOS) {
      const all = runs.get(name)!
      const best = all.reduce((a, b) => (b.rps > a.rps ? b : a))
      results.push({ ...best, rpsRuns: all.map((r) => r.rps) })
    }
  } finally {
    await stop(upstreams)
    rmSync(dir, { recursive: true, force: true })
  }

  const rr = results.find((r) => r.scenario === 'round-robin')
  const off = results.find((r) => r.scenario === NO_RESILIENCE)
  const vsRoundRobin: Record<string, number> = {}
  const cpuVsRoundRobin: Record<string, number> = {}
  for (const r of results) {
    if (r.scenario === NO_RESILIENCE || !rr) continue
    if (rr.rps > 0) vsRoundRobin[r.scenario] = round(r.rps / rr.rps)
    if (rr.proxyCpuUsPerRequest && r.proxyCpuUsPerRequest) cpuVsRoundRobin[r.scenario] = round(r.proxyCpuUsPerRequest / rr.proxyCpuUsPerRequest)
  }
  const resilienceOnOff = rr && off && off.rps > 0 ? round(rr.rps / off.rps) : undefined
  const resilienceCpuOnOff = rr?.proxyCpuUsPerRequest && off?.proxyCpuUsPerRequest ? round(rr.proxyCpuUsPerRequest / off.proxyCpuUsPerRequest) : undefined
  const lines = [
    '',
    `best of ${REPEATS} interleaved runs per scenario`,
    'scenario                     req/s   p50 ms   p99 ms  commy CPU%  µs CPU/req  errors  req/s vs rr  CPU/req vs rr  runs (req/s)',
    ...results.map(
      (r) =>
        `${r.scenario.padEnd(26)} ${String(r.rps).padStart(7)}  ${String(r.p50Ms).padStart(7)}  ${String(r.p99Ms).padStart(7)}  ${String(r.proxyCpuPct ?? '-').padStart(10)}  ${String(r.proxyCpuUsPerRequest ?? '-').padStart(10)}  ${String(r.errors + r.non2xx).padStart(6)}  ${String(vsRoundRobin[r.scenario] ?? '-').padStart(11)}  ${String(cpuVsRoundRobin[r.scenario] ?? '-').padStart(13)}  ${(r.rpsRuns ?? []).join(' ')}`,
    ),
    '',
    ...(resilienceOnOff !== undefined
      ? [
          `resilience layers (round robin, breaker + outlier detection on vs enabled: false): ${resilienceOnOff}x req/s, ${resilienceCpuOnOff ?? '-'}x commy CPU per request`,
        ]
      : []),
    `resilience layers, micro: +${round(layers.resilienceNs - layers.statsOnlyNs, 0)} ns per try over endpoint stats alone (+${round(layers.resilienceDisabledNs - layers.statsOnlyNs, 0)} ns with breaker/outlier disabled)`,
    '',
  ]
  process.stdout.write(`${lines.join('\n')}\n`)
  const summary = {
    bench: 'strategies-http',
    ...machine(),
    pinned: canPin,
    endpoints: ENDPOINTS,
    connections: CONNECTIONS,
    durationS: DURATION,
    repeats: REPEATS,
    results,
    layers,
    ratios: { vsRoundRobin, cpuPerRequestVsRoundRobin: cpuVsRoundRobin, resilienceOnOff, resilienceCpuPerRequestOnOff: resilienceCpuOnOff },
  }
  process.stdout.write(`${JSON.stringify(summary)}\n`)
}

const [role, ...rest] = process.argv.slice(2)
if (role === 'upstream') runUpstreams(Number(rest[0] ?? ENDPOINTS))
else if (role === 'load') void runLoad(rest[0]!, Number(rest[1] ?? DURATION), { connections: CONNECTIONS, idReplacement: true })
else runMain(orchestrate)
