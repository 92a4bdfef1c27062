/**
 * Every resilience mechanism, run with the real clock and stopped, leaves nothing behind: checked in
 * a child process (so tap's own timers do not interfere) with async_hooks, which also sees unref'd
 * timers, and by the child exiting on its own.
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const src = (p: string) => fileURLToPath(new URL(`../../src/${p}`, import.meta.url))
const tsImport = [`--import=${new URL('../setup/ts-loader.mjs', import.meta.url).href}`]

const child = `
import { createHook } from 'node:async_hooks'
const live = new Map()
const hook = createHook({
  init(id, type, _trigger, resource) {
    // ELDHISTOGRAM: monitorEventLoopDelay's object, freed only when collected; stop() disables its timer
    if (type === 'PROMISE' || type === 'TickObject' || type === 'Immediate' || type === 'ELDHISTOGRAM') return
    live.set(id, type === 'Timeout' ? 'Timeout ' + resource._idleTimeout + 'ms' : type)
  },
  destroy(id) { live.delete(id) },
})
const { createBreaker } = await import(${JSON.stringify(src('resilience/breaker.ts'))})
const { createOutlierDetection } = await import(${JSON.stringify(src('resilience/outlier-detector.ts'))})
const { ConcurrencyLimit } = await import(${JSON.stringify(src('resilience/concurrency-limit.ts'))})
const { LoopLagMonitor } = await import(${JSON.stringify(src('resilience/loop-lag.ts'))})
const { RetryBudget } = await import(${JSON.stringify(src('resilience/retry-budget.ts'))})
const { pause } = await import(${JSON.stringify(src('resilience/backoff.ts'))})
const { Endpoint } = await import(${JSON.stringify(src('endpoint/endpoint.ts'))})
const { systemClock: clock } = await import(${JSON.stringify(src('clock.ts'))})
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const ep = (port) => new Endpoint('svc', { host: '127.0.0.1', port, weight: 1, zone: undefined, tags: [] }, 'static', 10000)
hook.enable()

const a = ep(1)
const br = createBreaker(a, { enabled: true, errorThresholdPercentage: 50, volumeThreshold: 5, resetTimeoutMs: 20, rollingCountTimeoutMs: 1000, rollingCountBuckets: 10 }, { clock, changed() {} })
for (let i = 0; i < 5; i++) br.record('failure', br.admit())
const openState = br.state.kind
await sleep(40)
const halfState = br.state.kind
const trial = br.admit()           // starts the trial timer
br.record('success', trial)        // closes
for (let i = 0; i < 5; i++) br.record('failure', br.admit()) // open again: reset timers pending
br.stop(); br.stop()

const eps = [ep(2), ep(3)]
const od = createOutlierDetection({ enabled: true, consecutiveErrors: 2, baseEjectionTimeMs: 60000, maxEjectionTimeMs: 300000, maxEjectionPercent: 50 }, { clock, endpoints: () => eps, changed() {} })
od.record(eps[0], 'failure'); od.record(eps[0], 'failure')
const ejected = eps[0].ejectedUntil > 0
od.stop(); od.stop()

const limit = new ConcurrencyLimit({ service: 'svc', maxInFlight: 1, maxQueued: 5, queueTimeoutMs: 60000 }, clock)
limit.tryAcquire()
const queued = limit.acquire().catch((e) => e.code)
limit.stop(); limit.stop()
const drained = await queued

const lag = new LoopLagMonitor({ thresholdMs: 100, sampleMs: 20, clock })
lag.start(); await sleep(50); lag.stop(); lag.stop()

const budget = new RetryBudget({ ratio: 0.2, minPerSecond: 1 }, clock)
budget.recordRequest(); budget.tryAcquireRetry()
const ac = new AbortController()
const paused = pause(clock, 60000, ac.signal).catch(() => 'aborted')
ac.abort()
const pausedResult = await paused

await sleep(5)
globalThis.gc()
await new Promise((r) => setImmediate(r))
hook.disable()
console.log(JSON.stringify({ openState, halfState, ejected, drained, pausedResult, live: [...live.values()], active: process.getActiveResourcesInfo() }))
`

t.test('stopped mechanisms leave no timer or handle, and the process exits on its own', async (t) => {
  const started = Date.now()
  const proc = spawn(process.execPath, [...tsImport, '--expose-gc', '--input-type=module', '-e', child], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  proc.stdout.on('data', (d) => (out += d))
  proc.stderr.on('data', (d) => (err += d))
  const killer = setTimeout(() => proc.kill('SIGKILL'), 20_000)
  const code = await new Promise<number | null>((resolve) => proc.on('exit', (c) => resolve(c)))
  clearTimeout(killer)
  t.equal(code, 0, `child exited by itself ${err}`)
  const report = JSON.parse(out.trim().split('\n').at(-1)!) as {
    openState: string
    halfState: string
    ejected: boolean
    drained: string
    pausedResult: string
    live: string[]
    active: string[]
  }
  t.equal(report.openState, 'open')
  t.equal(report.halfState, 'half-open')
  t.equal(report.ejected, true)
  t.equal(report.drained, 'COMMY_ERR_DRAINING', 'stop() rejects queued requests')
  t.equal(report.pausedResult, 'aborted')
  t.same(report.live, [], 'no timer or handle created by the mechanisms is left')
  t.same(report.active.filter((r) => r !== 'PipeWrap' && r !== 'TTYWrap'), [], 'nothing but stdio keeps the loop alive')
  t.ok(Date.now() - started < 20_000)
})
