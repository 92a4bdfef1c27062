/**
 * `node dist/bench/grpc.js`: gRPC unary calls per second, straight to a grpc-js server and through
 * commy (h2c from the client, `protocol: http2` to the server), with commy's CPU per call. One
 * grpc-js client channel (one HTTP/2 connection, as a real gRPC client holds) keeps
 * BENCH_CONCURRENCY calls in flight for BENCH_DURATION s; each call sends and gets BENCH_BODY
 * bytes. Scenarios, interleaved BENCH_REPEATS times, best run of each reported:
 *
 * - `direct`: client -> server;
 * - `commy`: client -> commy's outbound listener -> server (each call routed and balanced on its own).
 *
 * HTTP/2 vs HTTP/1.1 upstreams for plain requests is `bench/h2-upstream.ts`.
 * Pinning (taskset, when present): client and server on cpu0, commy on cpu1.
 * Env: BENCH_REPEATS (2), BENCH_DURATION s (8), BENCH_WARMUP s (2), BENCH_CONCURRENCY (32),
 * BENCH_BODY (100). Prints a table and one JSON summary line last.
 *
 * Roles (internal): `grpc.js server`, `grpc.js load ADDRESS SECONDS`.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as grpc from '@grpc/grpc-js'
import { canPin, cpuSeconds, listening, round, runMain, start, stop } from './lib/harness.js'
import { startCommy } from './lib/mesh-nodes.js'
import { ratioLines, report } from './lib/machine.js'

const HERE = dirname(fileURLToPath(import.meta.url))
const SELF = fileURLToPath(import.meta.url)
const MAIN = join(HERE, '../src/main.js')
const env = process.env
const DURATION = Number(env.BENCH_DURATION ?? 8)
const WARMUP = Number(env.BENCH_WARMUP ?? 2)
const CONCURRENCY = Number(env.BENCH_CONCURRENCY ?? 32)
const BODY = Number(env.BENCH_BODY ?? 100)
const REPEATS = Math.max(1, Number(env.BENCH_REPEATS ?? 2))
const SCENARIOS = ['direct', 'commy'] as const

const id = (b: Buffer): Buffer => b
const SERVICE = {
  Unary: { path: '/bench.v1.Echo/Unary', requestStream: false, responseStream: false, requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id },
} satisfies grpc.ServiceDefinition
const Client = grpc.makeGenericClientConstructor(SERVICE, 'Echo')
type UnaryFn = (req: Buffer, cb: grpc.requestCallback<Buffer>) => void

interface LoadResult {
  readonly calls: number
  readonly errors: number
  readonly seconds: number
  readonly p50Ms: number
  readonly p99Ms: number
}

interface Run extends LoadResult {
  readonly scenario: string
  readonly callsPerSecond: number
  /** commy's CPU per call in µs (the `commy` scenario). */
  readonly commyCpuUsPerCall: number | undefined
  readonly commyCpuPct: number | undefined
}

// ---------------------------------------------------------------- roles

function runServer(): void {
  const server = new grpc.Server()
  const answer = Buffer.alloc(BODY, 'y')
  server.addService(SERVICE, { Unary: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb(null, answer) })
  server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
    if (err) throw err
    process.stdout.write(`${JSON.stringify({ listening: port })}\n`)
  })
  process.on('SIGTERM', () => server.forceShutdown())
}

/** One channel, CONCURRENCY calls in flight for `seconds`: one LoadResult JSON line. */
function runLoad(address: string, seconds: number): void {
  const client = new Client(address, grpc.credentials.createInsecure()) as unknown as { Unary: UnaryFn; close(): void }
  const body = Buffer.alloc(BODY, 'x')
  const times: number[] = []
  let errors = 0
  const t0 = performance.now()
  const end = t0 + seconds * 1000
  let open = CONCURRENCY
  const one = () => {
    const s = performance.now()
    client.Unary(body, (err) => {
      const now = performance.now()
      if (err) errors++
      else times.push(now - s)
      if (now < end) one()
      else if (--open === 0) done(now)
    })
  }
  const done = (now: number) => {
    client.close()
    times.sort((a, b) => a - b)
    const q = (p: number) => round(times[Math.min(times.length - 1, Math.floor(times.length * p))] ?? 0)
    const r: LoadResult = { calls: times.length, errors, seconds: (now - t0) / 1000, p50Ms: q(0.5), p99Ms: q(0.99) }
    process.stdout.write(`${JSON.stringify(r)}\n`)
  }
  for (let i = 0; i < CONCURRENCY; i++) one()
}

// ---------------------------------------------------------------- orchestration

const isPort = (v: unknown): v is number => typeof v === 'number'
const isLoad = (v: unknown): v is LoadResult => typeof v === 'object' && v !== null && 'calls' in v

/** Runs the load role against `address` and reads its result line. */
async function loadOnce(address: string, seconds: number): Promise<LoadResult> {
  const child = start([SELF, 'load', address, String(seconds)], 0)
  return new Promise((resolve, reject) => {
    let buf = ''
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString()
      for (const line of buf.split('\n')) {
        try {
          const j: unknown = JSON.parse(line)
          if (isLoad(j)) resolve(j)
        } catch {
          // partial line
        }
      }
    })
    child.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`load exited with ${code}`))))
  })
}

async function measure(name: string, address: string, commyPid: number | undefined): Promise<Run> {
  await loadOnce(address, WARMUP)
  const cpu0 = cpuSeconds(commyPid)
  const r = await loadOnce(address, DURATION)
  const cpu1 = cpuSeconds(commyPid)
  const cpu = name === 'commy' && cpu0 !== undefined && cpu1 !== undefined ? cpu1 - cpu0 : undefined
  return {
    ...r,
    scenario: name,
    callsPerSecond: Math.round(r.calls / r.seconds),
    commyCpuUsPerCall: cpu !== undefined && r.calls > 0 ? round((cpu * 1e6) / r.calls, 1) : undefined,
    commyCpuPct: cpu !== undefined ? round((cpu / r.seconds) * 100, 1) : undefined,
  }
}

async function orchestrate(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'commy-bench-grpc-'))
  const server = start([SELF, 'server'], 0)
  const runs = new Map<string, Run[]>()
  try {
    const port = await listening(server, isPort)
    const yaml = `admin: { listen: 127.0.0.1:0 }
log: { level: info, destination: $LOG, accessLog: false }
listeners:
  - name: outbound
    listen: 127.0.0.1:0
    routes:
      - { match: { grpc: { service: bench.v1.Echo } }, service: echo, timeout: 0s }
services:
  echo: { protocol: http2, endpoints: [{ address: 127.0.0.1:${port} }] }
`
    const commy = await startCommy(MAIN, dir, 'commy', yaml, 1, false)
    process.stderr.write(`bench grpc: one channel, ${CONCURRENCY} calls in flight, ${WARMUP}s warm-up + ${DURATION}s each, ${BODY}-byte messages${canPin ? ', commy pinned to cpu1' : ''}\n`)
    try {
      for (let rep = 0; rep < REPEATS; rep++) {
        for (const name of SCENARIOS) {
          const address = name === 'direct' ? `127.0.0.1:${port}` : `127.0.0.1:${commy.ports.outbound}`
          const r = await measure(name, address, commy.child.pid)
          runs.set(name, [...(runs.get(name) ?? []), r])
          process.stderr.write(`  [${rep + 1}/${REPEATS}] ${name.padEnd(6)} ${String(r.callsPerSecond).padStart(7)} calls/s  p50 ${r.p50Ms} ms  p99 ${r.p99Ms} ms  commy CPU ${r.commyCpuPct ?? '-'}%  ${r.commyCpuUsPerCall ?? '-'} µs/call  errors ${r.errors}\n`)
        }
      }
    } finally {
      await stop(commy.child)
    }
  } finally {
    await stop(server)
    rmSync(dir, { recursive: true, force: true })
  }
  const results = SCENARIOS.map((name) => {
    const all = runs.get(name)!
    return { ...all.reduce((x, y) => (y.callsPerSecond > x.callsPerSecond ? y : x)), runs: all.map((r) => r.callsPerSecond) }
  })
  const [direct, commy] = results as [Run & { runs: number[] }, Run & { runs: number[] }]
  const ratios = { 'commy/direct calls/s': direct.callsPerSecond > 0 ? round(commy.callsPerSecond / direct.callsPerSecond) : undefined }
  const lines = [
    '',
    `best of ${REPEATS} interleaved runs per scenario`,
    'scenario  calls/s   p50 ms   p99 ms   commy CPU%  µs commy CPU/call  errors  runs (calls/s)',
    ...results.map(
      (r) =>
        `${r.scenario.padEnd(8)} ${String(r.callsPerSecond).padStart(7)}  ${String(r.p50Ms).padStart(7)}  ${String(r.p99Ms).padStart(7)}  ${String(r.commyCpuPct ?? '-').padStart(10)}  ${String(r.commyCpuUsPerCall ?? '-').padStart(16)}  ${String(r.errors).padStart(6)}  ${r.runs.join(' ')}`,
    ),
    '',
    ...ratioLines(ratios, 24),
    '',
  ]
  report(lines, {
    bench: 'grpc',
    pinned: canPin,
    concurrency: CONCURRENCY,
    durationS: DURATION,
    repeats: REPEATS,
    bodyBytes: BODY,
    results,
    ratios,
  })
}

const [role, ...rest] = process.argv.slice(2)
if (role === 'server') runServer()
else if (role === 'load') runLoad(rest[0]!, Number(rest[1] ?? DURATION))
else runMain(orchestrate)
