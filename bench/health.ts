/**
 * Health monitor costs, each against a baseline measured in the same run:
 * - history memory: 1,000 endpoints × default retention (10 s × 1 h = 360 buckets), every bucket
 *   filled, 50 transitions each; compared with the 50 MB budget and with a dense design that
 *   keeps a full histogram per bucket (computed, not allocated);
 * - History.record() ns/op (1,000 endpoints, rolling buckets) against a baseline that only finds
 *   the endpoint's counters in a Map and bumps one (the least any per-endpoint store must do);
 * - the check scheduler: 1,000 HTTP checks at 1 s interval against loopback servers in a child
 *   process for ~10 s: CPU of this process (the checker) per second and per check, against the
 *   same process idle for the same time.
 * Prints one JSON summary line last. Run: `npm run build && node dist/bench/health.js`.
 */
import { spawn } from 'node:child_process'
import v8 from 'node:v8'
import vm from 'node:vm'
import { setTimeout as sleep } from 'node:timers/promises'
import { ManualClock, seededRandom, systemClock } from '../src/clock.js'
import type { HealthCheckConfig } from '../src/config/types.js'
import { Endpoint } from '../src/endpoint/endpoint.js'
import { ActiveMonitor } from '../src/health/active-monitor.js'
import { BINS } from '../src/health/histogram.js'
import { History } from '../src/health/history.js'
import { nsPerOp as measureNsPerOp } from './lib/harness.js'
import { machine } from './lib/machine.js'

const ENDPOINTS = 1_000
const N = Number(process.env.BENCH_N ?? 2_000_000)
const CHECK_SECONDS = Number(process.env.BENCH_CHECK_SECONDS ?? 10)
const SERVER_PORTS = 10

v8.setFlagsFromString('--expose-gc')
const gc = vm.runInNewContext('gc') as () => void

function heap(): number {
  gc()
  gc()
  const m = process.memoryUsage()
  return m.heapUsed + m.arrayBuffers
}

const endpoint = (i: number, port = 10_000 + i) =>
  new Endpoint(`svc${i % 50}`, { host: '127.0.0.1', port, weight: 1, zone: undefined, tags: [] }, 'static', 10_000)

function memory() {
  const before = heap()
  const clock = new ManualClock(0)
  const history = new History({ bucketMs: 10_000, retentionMs: 3_600_000, clock })
  const eps = Array.from({ length: ENDPOINTS }, (_, i) => endpoint(i))
  for (let b = 0; b < 360; b++) {
    for (let i = 0; i < ENDPOINTS; i++) {
      const ep = eps[i]!
      for (let k = 0; k < 4; k++) history.record(ep, 0.3 + ((b * 31 + i * 7 + k * 13) % 900), (b + i + k) % 17 !== 0, clock.now())
      history.recordCheck(ep, true, clock.now())
    }
    clock.advance(10_000)
  }
  for (let k = 0; k < 50; k++) for (const ep of eps) history.transition(ep, k % 2 ? 'healthy' : 'unhealthy', k % 2 ? 'unhealthy' : 'healthy', `HTTP 500 from /health (${k})`, clock.now())
  const bytes = heap() - before
  const typed = history.memoryBytes()
  const denseBytes = ENDPOINTS * 360 * (BINS * 4 + 16)
  if (eps.length !== ENDPOINTS || history.endpointIds().length !== ENDPOINTS) throw new Error('bench bug')
  return { historyMB: round(bytes / 1e6), typedArraysMB: round(typed / 1e6), perEndpointKB: round(bytes / ENDPOINTS / 1e3), budgetMB: 50, ofBudget: round(bytes / 50e6), denseDesignMB: round(denseBytes / 1e6), vsDense: round(bytes / denseBytes) }
}

const nsPerOp = (fn: (i: number) => void): number => measureNsPerOp(fn, N, 200_000)

function recordCost() {
  const clock = new ManualClock(0)
  const history = new History({ bucketMs: 10_000, retentionMs: 3_600_000, clock })
  const eps = Array.from({ length: ENDPOINTS }, (_, i) => endpoint(i))
  // time moves 5 µs per call: a bucket rolls every 2,000,000 calls per endpoint set
  let now = 0
  const record = nsPerOp((i) => {
    now += 0.005
    history.record(eps[i % ENDPOINTS]!, 0.2 + (i & 1023) * 0.37, (i & 63) !== 0, now)
  })
  const counters = new Map(eps.map((ep) => [ep.id, new Uint32Array(2)]))
  const baseline = nsPerOp((i) => {
    const c = counters.get(eps[i % ENDPOINTS]!.id)!
    c[(i & 63) !== 0 ? 0 : 1]!++
  })
  // allocation on the hot path, with series existing: heap growth over 1M records, no GC in between
  const h0 = process.memoryUsage().heapUsed
  for (let i = 0; i < 1_000_000; i++) history.record(eps[i % ENDPOINTS]!, 5, true, now)
  const allocBytesPerOp = Math.max(0, (process.memoryUsage().heapUsed - h0) / 1_000_000)
  return { recordNsPerOp: round(record), baselineNsPerOp: round(baseline), vsBaseline: round(record / baseline), allocBytesPerOp: round(allocBytesPerOp) }
}

const SERVER = `
const http = require('node:http')
const ports = []
let n = ${SERVER_PORTS}
for (let i = 0; i < ${SERVER_PORTS}; i++) {
  const s = http.createServer((req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('ok'))
  s.keepAliveTimeout = 5000
  s.listen(0, '127.0.0.1', () => { ports.push(s.address().port); if (--n === 0) process.send({ ports }) })
}
process.on('message', () => { const u = process.cpuUsage(); process.send({ cpuMs: (u.user + u.system) / 1000 }, () => process.exit(0)) })
`

async function checkerCpu() {
  const child = spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const ports = await new Promise<number[]>((resolve, reject) => {
    child.once('message', (m) => resolve((m as { ports: number[] }).ports))
    child.once('error', reject)
  })
  try {
    // baseline: this process idle for the same time
    const idle0 = process.cpuUsage()
    await sleep(CHECK_SECONDS * 1000)
    const idle = process.cpuUsage(idle0)
    const cfg: HealthCheckConfig = {
      kind: 'http', path: '/health', method: 'GET', expectStatus: [200, 299], expectBody: undefined, headers: {},
      intervalMs: 1_000, timeoutMs: 1_000, jitter: 10, unhealthyThreshold: 3, healthyThreshold: 2, remote: false,
    }
    const monitor = new ActiveMonitor({ configFor: () => cfg, clock: systemClock, random: seededRandom(1) })
    let checks = 0
    let failed = 0
    monitor.on({ checked: (c) => void (checks++, c.ok || failed++) })
    for (let i = 0; i < ENDPOINTS; i++) monitor.watch(endpoint(i, ports[i % ports.length]), () => {})
    monitor.start()
    await sleep(1_500) // staggered first round, connections opened
    const c0 = checks
    const f0 = failed
    const cpu0 = process.cpuUsage()
    const t0 = performance.now()
    await sleep(CHECK_SECONDS * 1000)
    const cpu = process.cpuUsage(cpu0)
    const seconds = (performance.now() - t0) / 1000
    const n = checks - c0
    await monitor.stop()
    const serverCpuMs = await new Promise<number>((resolve) => {
      child.once('message', (m) => resolve((m as { cpuMs: number }).cpuMs))
      child.send('cpu')
    })
    const cpuMs = (cpu.user + cpu.system) / 1000
    const idleMs = (idle.user + idle.system) / 1000
    return {
      checks: n,
      failedChecks: failed - f0,
      checksPerSecond: round(n / seconds),
      checkerCpuPercent: round((cpuMs / (seconds * 1000)) * 100),
      idleCpuPercent: round((idleMs / (CHECK_SECONDS * 1000)) * 100),
      cpuUsPerCheck: round(((cpuMs - idleMs * (seconds / CHECK_SECONDS)) * 1000) / n),
      vsIdle: round(cpuMs / Math.max(idleMs, 0.001)),
      serverProcessCpuMs: round(serverCpuMs),
    }
  } finally {
    if (child.exitCode === null) child.kill()
  }
}

function round(x: number): number {
  return Math.round(x * 100) / 100
}

async function main() {
  const mem = memory()
  console.log(`history memory, 1,000 endpoints × 360 buckets filled: ${mem.historyMB} MB (${mem.perEndpointKB} KB/endpoint; ${mem.ofBudget} of the 50 MB budget; dense per-bucket histograms would need ${mem.denseDesignMB} MB)`)
  const rec = recordCost()
  console.log(`History.record(): ${rec.recordNsPerOp} ns/op vs Map+counter baseline ${rec.baselineNsPerOp} ns/op (×${rec.vsBaseline}); ~${rec.allocBytesPerOp} B allocated/op`)
  const chk = await checkerCpu()
  console.log(`1,000 HTTP checks at 1 s: ${chk.checksPerSecond} checks/s, checker CPU ${chk.checkerCpuPercent}% (idle ${chk.idleCpuPercent}%), ${chk.cpuUsPerCheck} µs CPU per check, ${chk.failedChecks} failed`)
  console.log(JSON.stringify({
    bench: 'health',
    ...machine(),
    memory: mem,
    record: rec,
    scheduler: chk,
  }))
}

void main()
