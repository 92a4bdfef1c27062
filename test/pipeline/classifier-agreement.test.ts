/**
 * One verdict per outcome, everywhere: the same outcomes (each status class, each transport error,
 * a client abort, a local refusal) go through the real breaker layer, outlier-ejection layer,
 * endpoint-stats layer, health-history layer and alert evaluation, on a manual clock and without
 * sockets. Each mechanism's observable reaction is read back as a verdict, and every mechanism
 * must reach the failure classifier's: a failure counts, a success counts as good, a neutral
 * outcome is ignored.
 */
import t from 'tap'
import { pino } from 'pino'
import { ManualClock } from '../../src/clock.js'
import type { AlertRuleConfig, ServiceConfig } from '../../src/config/types.js'
import type { Endpoint } from '../../src/endpoint/endpoint.js'
import { ServiceEndpoints } from '../../src/endpoint/service-endpoints.js'
import {
  BreakerOpenError,
  ClientAbortedError,
  UpstreamConnectError,
  UpstreamProtocolError,
  UpstreamResetError,
  UpstreamTimeoutError,
} from '../../src/errors.js'
import { AlertEvaluator } from '../../src/health/alerts.js'
import { historyLayer } from '../../src/health/history-layer.js'
import { History } from '../../src/health/history.js'
import { endpointStats } from '../../src/pipeline/endpoint-stats.js'
import { classify, type AttemptOutcome, type Verdict } from '../../src/pipeline/failure-classifier.js'
import { compose, type Attempt, type Layer, type Send } from '../../src/pipeline/pipeline.js'
import { breakerLayer } from '../../src/resilience/breaker-layer.js'
import { ResilienceEventHub } from '../../src/resilience/events.js'
import { outlierLayer } from '../../src/resilience/outlier-layer.js'
import { ServiceResilience } from '../../src/resilience/service-resilience.js'
import { serviceConfig } from '../helpers/service-config.js'
import { doneResponse } from '../helpers/responses.js'

const EP = '127.0.0.1:9000'

/** Every outcome, with the verdict the classifier gives it (checked below, so the table reads as the spec). */
const OUTCOMES: ReadonlyArray<readonly [string, AttemptOutcome, Verdict]> = [
  ['1xx', 101, 'success'],
  ['2xx', 200, 'success'],
  ['3xx', 302, 'success'],
  ['4xx', 404, 'success'],
  ['408', 408, 'neutral'],
  ['429', 429, 'neutral'],
  ['500', 500, 'failure'],
  ['501', 501, 'neutral'],
  ['502', 502, 'failure'],
  ['503', 503, 'failure'],
  ['504', 504, 'failure'],
  ['505', 505, 'neutral'],
  ['connect error', new UpstreamConnectError(EP), 'failure'],
  ['reset before write (keep-alive race)', new UpstreamResetError(EP, 'idle-race'), 'neutral'],
  ['reset after write', new UpstreamResetError(EP, 'written'), 'failure'],
  ['timeout', new UpstreamTimeoutError(EP, 100), 'failure'],
  ['protocol error', new UpstreamProtocolError(EP), 'failure'],
  ['client aborted', new ClientAbortedError(), 'neutral'],
  ['local refusal (breaker open)', new BreakerOpenError(EP), 'neutral'],
]

const FAIL: AttemptOutcome = 503

const service = (over: Partial<ServiceConfig> = {}): ServiceConfig => serviceConfig({ breaker: { enabled: true, errorThresholdPercentage: 50, volumeThreshold: 1, resetTimeoutMs: 60_000, rollingCountTimeoutMs: 10_000, rollingCountBuckets: 10 }, ...over })

/** One service with one endpoint and its resilience mechanisms, on a manual clock. */
function world() {
  const clock = new ManualClock(1_000_000)
  const set = new ServiceEndpoints({ name: 'svc', panicThreshold: 0, slowStartMs: 0, latencyDecayMs: 10_000, preferLocalZone: false, localZone: undefined, now: () => clock.now() })
  const s = new ServiceResilience(service(), { clock, endpoints: () => set, isLagging: () => false, events: new ResilienceEventHub() })
  set.on({ added: (ep) => s.addEndpoint(ep), removed: (ep) => s.removeEndpoint(ep) })
  set.apply('static', [{ host: '127.0.0.1', port: 9000, weight: 1, zone: undefined, tags: [] }])
  const ep = set.snapshot.all[0]!
  const lookup = (name: string) => (name === 'svc' ? s : undefined)
  return { clock, s, ep, lookup }
}

const response = doneResponse

const attempt = (ep: Endpoint): Attempt => ({
  endpoint: ep,
  request: { method: 'GET', path: '/', headers: [], body: null, requestId: 'r', service: 'svc' },
  try: 1,
  timeoutMs: 0,
  signal: new AbortController().signal,
  setCanceller() {},
})

/** The transport: answers with the status, or fails with the error. */
const transport: (outcome: AttemptOutcome) => Send = (outcome) => async (at) => {
  if (typeof outcome === 'number') return response(at.endpoint, outcome)
  throw outcome
}

const flush = () => new Promise((r) => setImmediate(r))

/** Sends each outcome in turn through `layer` around the transport; failures are swallowed. */
async function feed(layer: Layer, ep: Endpoint, outcomes: readonly AttemptOutcome[]): Promise<void> {
  for (const o of outcomes) {
    const send = compose([layer], transport(o))
    await send(attempt(ep)).catch(() => undefined)
  }
  await flush()
}

/** Breaker: one outcome with volumeThreshold 1. A failure is counted and opens it; a success is counted. */
async function breakerVerdict(outcome: AttemptOutcome): Promise<Verdict> {
  const { s, ep, lookup } = world()
  try {
    await feed(breakerLayer(lookup), ep, [outcome])
    const stats = s.breaker(ep).stats()
    if (stats.failures === 1 && stats.successes === 0 && ep.breaker.kind === 'open') return 'failure'
    if (stats.successes === 1 && stats.failures === 0 && ep.breaker.kind === 'closed') return 'success'
    if (stats.successes === 0 && stats.failures === 0 && ep.breaker.kind === 'closed') return 'neutral'
    throw new Error(`breaker: unexpected ${JSON.stringify(stats)} (${ep.breaker.kind})`)
  } finally {
    s.stop()
  }
}

/** Outlier detection (3 consecutive errors eject): two failures, then the outcome. */
async function outlierVerdict(outcome: AttemptOutcome): Promise<Verdict> {
  const { s, ep, lookup, clock } = world()
  try {
    await feed(outlierLayer(lookup), ep, [FAIL, FAIL, outcome])
    if (ep.ejectedUntil > clock.now()) return 'failure'
    if (ep.consecutiveFailures === 0) return 'success'
    if (ep.consecutiveFailures === 2) return 'neutral'
    throw new Error(`outlier: unexpected consecutive failures ${ep.consecutiveFailures}`)
  } finally {
    s.stop()
  }
}

/** Endpoint stats (what strategies and the admin view's `failures` read): one failure, then the outcome. */
async function statsVerdict(outcome: AttemptOutcome): Promise<Verdict> {
  const { s, ep, clock } = world()
  s.stop()
  await feed(endpointStats(clock), ep, [FAIL, outcome])
  if (ep.requests !== 2) throw new Error(`stats: ${ep.requests} requests`)
  if (ep.failures === 2 && ep.consecutiveFailures === 2) return 'failure'
  if (ep.failures === 1 && ep.consecutiveFailures === 0) return 'success'
  if (ep.failures === 1 && ep.consecutiveFailures === 1) return 'neutral'
  throw new Error(`stats: unexpected failures ${ep.failures}, consecutive ${ep.consecutiveFailures}`)
}

function historyWorld() {
  const { s, ep, clock } = world()
  s.stop()
  const history = new History({ bucketMs: 10_000, retentionMs: 600_000, clock })
  return { ep, clock, history, layer: historyLayer(history, clock) }
}

/** Health history (the dashboard's requests and errors): the outcome alone. */
async function historyVerdict(outcome: AttemptOutcome): Promise<Verdict> {
  const { ep, history, layer } = historyWorld()
  await feed(layer, ep, [outcome])
  const w = history.windowStats([ep.id], 60_000)
  if (w.requests === 1 && w.errors === 1) return 'failure'
  if (w.requests === 1 && w.errors === 0) return 'success'
  if (w.requests === 0 && w.errors === 0) return 'neutral'
  throw new Error(`history: unexpected ${w.requests} requests, ${w.errors} errors`)
}

const rule = (name: string, above: number): AlertRuleConfig => ({ name, when: 'error-rate', above, forMs: 60_000, service: 'svc', severity: 'warning', minRequests: 2 })

/**
 * Alert evaluation, through the history layer: one failure, then the outcome. With at least 2
 * requests, `all-failed` (above 60%) fires only when the outcome failed too, `half-failed` (above
 * 40%) also when it succeeded (1 of 2); a neutral outcome leaves 1 request: neither fires.
 */
async function alertVerdict(outcome: AttemptOutcome): Promise<Verdict> {
  const { ep, clock, history, layer } = historyWorld()
  await feed(layer, ep, [FAIL, outcome])
  const evaluator = new AlertEvaluator({
    config: { rules: [rule('all-failed', 0.6), rule('half-failed', 0.4)], webhooks: [], keep: 10 },
    node: 'n',
    targets: { services: () => [{ name: 'svc', endpoints: [ep] }] },
    history,
    clock,
    logger: pino({ level: 'silent' }),
  })
  evaluator.evaluate()
  const firing = new Set(evaluator.firing().map((a) => a.name))
  if (firing.has('all-failed') && firing.has('half-failed')) return 'failure'
  if (firing.has('half-failed')) return 'success'
  if (firing.size === 0) return 'neutral'
  throw new Error(`alerts: unexpected firing ${[...firing].join(', ')}`)
}

const MECHANISMS: ReadonlyArray<readonly [string, (o: AttemptOutcome) => Promise<Verdict>]> = [
  ['breaker', breakerVerdict],
  ['outlier ejection', outlierVerdict],
  ['endpoint stats', statsVerdict],
  ['health history', historyVerdict],
  ['alert evaluation', alertVerdict],
]

t.test('the table is the classifier', async (t) => {
  for (const [name, outcome, verdict] of OUTCOMES) t.equal(classify(outcome).verdict, verdict, name)
})

t.test('breaker, ejection, endpoint stats, history and alerts reach the classifier verdict for every outcome', async (t) => {
  for (const [name, outcome] of OUTCOMES) {
    const expected = classify(outcome).verdict
    const got: Record<string, Verdict> = {}
    for (const [mechanism, verdictOf] of MECHANISMS) got[mechanism] = await verdictOf(outcome)
    t.same(got, Object.fromEntries(MECHANISMS.map(([m]) => [m, expected])), `${name}: ${expected} everywhere`)
  }
})
