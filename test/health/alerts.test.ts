import t from 'tap'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { pino } from 'pino'
import { ManualClock, seededRandom, systemClock } from '../../src/clock.js'
import type { AlertRuleConfig, AlertsConfig, WebhookConfig } from '../../src/config/types.js'
import { Endpoint } from '../../src/endpoint/endpoint.js'
import { AlertEvaluator, type Alert } from '../../src/health/alerts.js'
import { OK, stepAlert, type AlertPhase, type Signal } from '../../src/health/alert-state.js'
import { History } from '../../src/health/history.js'
import { WebhookNotifier } from '../../src/health/webhook.js'
import { closedPort } from '../helpers/upstream.js'
import { breakerIn } from '../helpers/breaker.js'

interface Line { level: number; msg: string; [k: string]: unknown }

function capture() {
  const lines: Line[] = []
  const logger = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as Line) })
  return { logger, lines }
}

const ep = (port: number, service = 'pay') => new Endpoint(service, { host: '127.0.0.1', port, weight: 1, zone: undefined, tags: [] }, 'static', 10_000)

function rule(over: Partial<AlertRuleConfig>): AlertRuleConfig {
  return { name: 'r', when: 'error-rate', above: 0.05, forMs: 60_000, service: undefined, severity: 'warning', minRequests: 10, ...over }
}

function alerts(rules: AlertRuleConfig[], webhooks: WebhookConfig[] = [], keep = 100): AlertsConfig {
  return { rules, webhooks, keep }
}

/** A webhook receiver on 127.0.0.1:0: answers with `status()` and keeps the JSON bodies. */
async function receiver(status: () => number = () => 204) {
  const got: Alert[] = []
  let hits = 0
  const server = http.createServer((req, res) => {
    let body = ''
    req.on('data', (c: Buffer) => (body += c.toString()))
    req.on('end', () => {
      hits++
      const s = status()
      if (s < 300) got.push(JSON.parse(body) as Alert)
      res.writeHead(s).end()
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/secret-token`
  return {
    got,
    hits: () => hits,
    url,
    close: () => new Promise<void>((r) => {
      server.close(() => r())
      server.closeAllConnections()
    }),
  }
}

async function until(cond: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await sleep(5)
  }
}

t.test('alert state machine: pending, firing, hysteresis, resolve once', async (t) => {
  const timing = { fireAfterMs: 30, resolveAfterMs: 30 }
  let p: AlertPhase = OK
  const events: string[] = []
  const feed = (signal: Signal, now: number) => {
    const s = stepAlert(p, signal, now, timing)
    p = s.phase
    if (s.event) events.push(`${s.event}@${now}`)
  }
  feed('on', 0)
  t.equal(p.kind, 'pending')
  feed('off', 10)
  t.equal(p.kind, 'ok', 'a blip does not fire')
  feed('on', 20)
  feed('on', 40)
  feed('on', 50)
  feed('on', 60)
  feed('off', 70)
  feed('on', 80)
  feed('off', 90)
  feed('hold', 100)
  feed('off', 110)
  feed('off', 130)
  feed('off', 140)
  feed('off', 200)
  t.same(events, ['fire@50', 'resolve@140'], 'fires once after 30 ms on, resolves once after 30 ms off (hold resets the clear timer)')
  t.same(stepAlert(OK, 'on', 5, { fireAfterMs: 0, resolveAfterMs: 0 }).event, 'fire', 'no duration: fires at once')
})

t.test('error-rate rule fires once and resolves once against a real webhook receiver', async (t) => {
  const rx = await receiver()
  t.teardown(rx.close)
  const clock = new ManualClock(1_000_000)
  const { logger, lines } = capture()
  const history = new History({ bucketMs: 10_000, retentionMs: 3_600_000, clock })
  const eps = [ep(1), ep(2)]
  const config = alerts([rule({ name: 'pay-errors', service: 'pay', severity: 'critical' })], [{ url: rx.url, timeoutMs: 2_000, retries: 2, headers: { 'x-token': 't' } }])
  const webhooks = new WebhookNotifier({ webhooks: config.webhooks, clock: systemClock, random: seededRandom(1), logger })
  t.teardown(() => webhooks.stop())
  const evaluator = new AlertEvaluator({
    config,
    node: 'node-a',
    targets: { services: () => [{ name: 'pay', endpoints: eps }, { name: 'other', endpoints: [] }] },
    history,
    clock,
    logger,
    notify: (a) => webhooks.notify(a),
  })
  evaluator.start()
  t.teardown(() => evaluator.stop())
  /** `seconds` of traffic: 10 requests/s over both endpoints, `errPerSec` of them failing. */
  const traffic = (seconds: number, errPerSec: number) => {
    for (let s = 0; s < seconds; s++) {
      for (let i = 0; i < 10; i++) history.record(eps[i % 2]!, 5, i >= errPerSec, clock.now())
      clock.advance(1_000)
    }
  }
  traffic(120, 0)
  t.equal(evaluator.recent().length, 0, 'healthy traffic: no alert')
  traffic(90, 2)
  t.equal(evaluator.firing().length, 1, 'firing while 20% fail')
  traffic(60, 0)
  t.equal(evaluator.firing().length, 0, 'resolved after the errors left the window')
  traffic(120, 0)
  const recent = evaluator.recent()
  t.equal(recent.length, 1, 'one alert episode in the recent list')
  t.equal(recent[0]!.state, 'resolved')
  // nothing queued, in flight or waiting to retry: no third POST can come
  await until(() => rx.got.length >= 2 && webhooks.pending() === 0)
  t.equal(rx.got.length, 2, 'the receiver got exactly two POSTs')
  const [fired, resolved] = rx.got
  t.match(fired, { name: 'pay-errors', rule: 'error-rate', service: 'pay', state: 'firing', severity: 'critical', threshold: 0.05, node: 'node-a', startedAt: Number })
  t.ok(fired!.value > 0.05, `value ${fired!.value}`)
  t.notOk('endpoint' in fired!, 'a service-level alert has no endpoint')
  t.match(resolved, { name: 'pay-errors', state: 'resolved', startedAt: fired!.startedAt, resolvedAt: Number })
  t.ok(resolved!.value <= 0.04, 'resolved below the lower threshold (80% of 5%)')
  t.ok(resolved!.resolvedAt! > fired!.startedAt)
  const logged = lines.filter((l) => l.msg.startsWith('alert '))
  t.same(logged.map((l) => [l.level, l.msg.split(':')[0]]), [[50, 'alert firing'], [30, 'alert resolved']], 'logged once at error (critical), once at info')
})

t.test('hysteresis: a rate wobbling around the threshold fires once and does not flap', async (t) => {
  const clock = new ManualClock(0)
  const { logger } = capture()
  const history = new History({ bucketMs: 10_000, retentionMs: 600_000, clock })
  const eps = [ep(1)]
  const notified: Alert[] = []
  const evaluator = new AlertEvaluator({
    config: alerts([rule({ forMs: 30_000 })]),
    node: 'n',
    targets: { services: () => [{ name: 'pay', endpoints: eps }] },
    history,
    clock,
    logger,
    notify: (a) => notified.push(a),
    intervalMs: 1_000,
  })
  evaluator.start()
  for (let s = 0; s < 600; s++) {
    // 200 requests/s; the error share swings between 6% and 4.5% every 30 s
    const errs = Math.floor(s / 30) % 2 === 0 ? 12 : 9
    for (let i = 0; i < 200; i++) history.record(eps[0]!, 1, i >= errs, clock.now())
    clock.advance(1_000)
  }
  evaluator.stop()
  t.same(notified.map((a) => a.state), ['firing'], 'one firing, no resolve while above 4%')
  t.equal(clock.pending(), 0)
})

t.test('state rules: endpoint-unhealthy and breaker-open per endpoint, no-healthy-endpoint per service', async (t) => {
  const clock = new ManualClock(0)
  const { logger, lines } = capture()
  const a = ep(1)
  const b = ep(2)
  let endpoints = [a, b]
  const notified: Alert[] = []
  const evaluator = new AlertEvaluator({
    config: alerts([
      rule({ name: 'down', when: 'endpoint-unhealthy', above: 0, forMs: 30_000 }),
      rule({ name: 'breaker', when: 'breaker-open', above: 0, forMs: 0 }),
      rule({ name: 'none', when: 'no-healthy-endpoint', above: 0, forMs: 10_000, severity: 'critical' }),
    ]),
    node: 'n',
    targets: { services: () => [{ name: 'pay', endpoints }] },
    clock,
    logger,
    notify: (x) => notified.push(x),
  })
  evaluator.start()
  a.activeHealth = 'unhealthy'
  a.activeReason = 'HTTP 500 from /health'
  clock.advance(25_000)
  t.equal(notified.length, 0, 'not yet: for is 30 s')
  clock.advance(10_000)
  t.match(notified, [{ name: 'down', rule: 'endpoint-unhealthy', endpoint: a.id, state: 'firing', value: 1, summary: /HTTP 500 from \/health/ }])
  b.breaker = breakerIn('open')
  clock.advance(5_000) // t = 40 s
  t.same(notified.map((x) => [x.name, x.endpoint ?? null]), [['down', a.id], ['breaker', b.id]], 'breaker-open fires at once')
  clock.advance(10_000) // t = 50 s
  t.same(notified.slice(2).map((x) => [x.name, x.endpoint ?? null, x.severity]), [['none', null, 'critical']], 'no healthy endpoint for 10 s')
  t.match(notified[2], { value: 0, threshold: 0, summary: '0 of 2 endpoints healthy' })
  t.equal(lines.filter((l) => l.level === 50).length, 1, 'the critical one logged at error')
  clock.advance(20_000) // t = 70 s
  t.same(notified.slice(3).map((x) => [x.name, x.endpoint ?? null]), [['down', b.id]], 'b ejected by its breaker for 30 s')
  b.breaker = breakerIn('closed')
  a.activeHealth = 'healthy'
  clock.advance(5_000) // t = 75 s
  t.same(notified.slice(4).map((x) => [x.name, x.state]), [['breaker', 'resolved']])
  clock.advance(10_000) // t = 85 s
  t.same(notified.slice(5).map((x) => [x.name, x.state]), [['none', 'resolved']])
  clock.advance(20_000) // t = 105 s
  t.same(notified.slice(6).map((x) => [x.name, x.state, x.endpoint]), [['down', 'resolved', a.id], ['down', 'resolved', b.id]], 'resolved after 30 s healthy')
  t.equal(notified.length, 8, 'each fired once and resolved once')
  // an endpoint that leaves while its alert fires resolves like a recovered one
  a.activeHealth = 'unhealthy'
  clock.advance(35_000)
  const firing = evaluator.firing().map((x) => x.name)
  t.same(firing, ['down'])
  endpoints = [b]
  clock.advance(35_000)
  t.same(evaluator.firing(), [])
  t.ok(evaluator.recent().every((x) => x.state === 'resolved'))
  evaluator.stop()
})

t.test('p99-latency rule uses the merged histogram over its window', async (t) => {
  const clock = new ManualClock(0)
  const { logger } = capture()
  const history = new History({ bucketMs: 10_000, retentionMs: 600_000, clock })
  const eps = [ep(1), ep(2)]
  const notified: Alert[] = []
  const evaluator = new AlertEvaluator({
    config: alerts([rule({ name: 'slow', when: 'p99-latency', above: 250, forMs: 60_000 })]),
    node: 'n',
    targets: { services: () => [{ name: 'pay', endpoints: eps }] },
    history,
    clock,
    logger,
    notify: (x) => notified.push(x),
  })
  evaluator.start()
  /** 50 requests/s, `slow` of them at 400 ms, the rest at 20 ms. */
  const traffic = (seconds: number, slow: number) => {
    for (let s = 0; s < seconds; s++) {
      for (let i = 0; i < 50; i++) history.record(eps[i % 2]!, i < slow ? 400 : 20, true, clock.now())
      clock.advance(1_000)
    }
  }
  traffic(120, 0)
  t.equal(notified.length, 0, 'p99 20 ms: quiet')
  traffic(120, 2) // 4% slow: the p99 is 400 ms
  t.match(notified, [{ name: 'slow', state: 'firing', threshold: 250 }], 'fires when p99 > 250 ms')
  t.ok(Math.abs(notified[0]!.value - 400) / 400 <= 0.0625, `p99 value ${notified[0]!.value}`)
  traffic(120, 0)
  t.same(notified.map((x) => x.state), ['firing', 'resolved'])
  evaluator.stop()
})

t.test('an unreachable webhook does not slow evaluation or the record path; failure is logged, not thrown', async (t) => {
  const hang = http.createServer(() => {})
  await new Promise<void>((r) => hang.listen(0, '127.0.0.1', r))
  t.teardown(() => new Promise<void>((r) => {
    hang.close(() => r())
    hang.closeAllConnections()
  }))
  const hooks: WebhookConfig[] = [
    { url: `http://127.0.0.1:${(hang.address() as AddressInfo).port}/never`, timeoutMs: 80, retries: 1, headers: {} },
    { url: `http://127.0.0.1:${await closedPort()}/refused`, timeoutMs: 80, retries: 1, headers: {} },
  ]
  const { logger, lines } = capture()
  const webhooks = new WebhookNotifier({ webhooks: hooks, clock: systemClock, random: seededRandom(2), logger, backoffBaseMs: 20 })
  t.teardown(() => webhooks.stop())
  const history = new History({ bucketMs: 1_000, retentionMs: 60_000, clock: systemClock })
  const a = ep(1)
  a.activeHealth = 'unhealthy'
  const evaluator = new AlertEvaluator({
    config: alerts([rule({ name: 'down', when: 'endpoint-unhealthy', forMs: 0 })], hooks),
    node: 'n',
    targets: { services: () => [{ name: 'pay', endpoints: [a] }] },
    history,
    clock: systemClock,
    logger,
    notify: (x) => webhooks.notify(x),
  })
  // evaluate() is synchronous: it returning with deliveries still pending is the proof that
  // hanging webhooks never hold it (no timing: the machine may be loaded)
  evaluator.evaluate()
  t.equal(evaluator.firing().length, 1)
  t.ok(webhooks.pending() >= 2, 'evaluation returned while deliveries are under way')
  for (let i = 0; i < 1_000; i++) history.record(a, 1, true, systemClock.now())
  t.ok(webhooks.pending() >= 2, 'recording goes on while they hang')
  await until(() => webhooks.pending() === 0)
  const failed = lines.filter((l) => l.msg === 'alert webhook delivery failed')
  t.equal(failed.length, 2, 'each failed delivery logged once')
  t.same(failed.map((l) => [l.webhook, l.tries]).sort(), [[hooks[0]!.url.replace('/never', ''), 2], [hooks[1]!.url.replace('/refused', ''), 2]].sort())
  t.ok(failed.every((l) => !JSON.stringify(l).includes('/never') && !JSON.stringify(l).includes('/refused')), 'only the origin is logged')
  t.same(webhooks.stats(), { sent: 0, failed: 2, pending: 0 })
})

t.test('webhook retries with backoff until the receiver accepts; stop cancels what is left', async (t) => {
  let calls = 0
  const rx = await receiver(() => (++calls <= 2 ? 500 : 200))
  t.teardown(rx.close)
  const { logger } = capture()
  const webhooks = new WebhookNotifier({ webhooks: [{ url: rx.url, timeoutMs: 1_000, retries: 3, headers: {} }], clock: systemClock, random: seededRandom(3), logger, backoffBaseMs: 10 })
  webhooks.notify({ hello: 1 })
  await until(() => webhooks.pending() === 0)
  t.equal(rx.hits(), 3, 'two failed tries, then delivered')
  t.same(rx.got, [{ hello: 1 }])
  t.same(webhooks.stats(), { sent: 1, failed: 0, pending: 0 })
  calls = -1_000
  const slow = new WebhookNotifier({ webhooks: [{ url: rx.url, timeoutMs: 1_000, retries: 5, headers: {} }], clock: new ManualClock(), random: seededRandom(3), logger, backoffBaseMs: 10_000 })
  slow.notify({ x: 1 })
  await until(() => rx.hits() === 4)
  await until(() => slow.pending() === 1) // waiting for its backoff timer (manual clock)
  await slow.stop()
  t.equal(slow.pending(), 0)
  slow.notify({ y: 1 })
  t.equal(slow.pending(), 0, 'nothing queued after stop')
  await webhooks.stop()
})

t.test('reconfigure: a kept rule carries on without firing again, a removed rule resolves, keep trims, hooks replaced', async (t) => {
  const clock = new ManualClock(0)
  const { logger } = capture()
  const eps = [ep(1), ep(2)]
  const published: Alert[] = []
  const down = rule({ name: 'down', when: 'endpoint-unhealthy', forMs: 0 })
  const open = rule({ name: 'open', when: 'breaker-open', forMs: 0 })
  const evaluator = new AlertEvaluator({
    config: alerts([open, down]),
    node: 'n',
    targets: { services: () => [{ name: 'pay', endpoints: eps }] },
    clock,
    logger,
    notify: (a) => void published.push(a),
  })
  eps[0]!.activeHealth = 'unhealthy'
  eps[1]!.breaker = breakerIn('open')
  evaluator.evaluate()
  t.same(evaluator.firing().map((a) => `${a.name} ${a.endpoint}`).sort(), ['down pay~127.0.0.1:1', 'down pay~127.0.0.1:2', 'open pay~127.0.0.1:2'])
  // `down` moves to index 0 with a longer `for`; `open` is removed
  evaluator.reconfigure(alerts([rule({ name: 'down', when: 'endpoint-unhealthy', forMs: 60_000 })], [], 2))
  t.same(published.filter((a) => a.state === 'resolved').map((a) => [a.name, a.summary]), [['open', 'rule removed from the config']], 'removed rule resolved')
  clock.advance(1_000)
  evaluator.evaluate()
  t.equal(published.filter((a) => a.state === 'firing').length, 3, 'the kept alerts did not fire again')
  t.equal(evaluator.firing().length, 2)
  t.equal(evaluator.recent().length, 2, 'keep: 2')
  eps[0]!.activeHealth = 'healthy'
  eps[1]!.breaker = breakerIn('closed')
  evaluator.evaluate()
  clock.advance(30_000)
  evaluator.evaluate()
  t.equal(evaluator.firing().length, 2, 'the new for (1m) applies to resolving')
  clock.advance(30_000)
  evaluator.evaluate()
  t.equal(evaluator.firing().length, 0)
  t.equal(published.filter((a) => a.state === 'resolved').length, 3)

  const rx = await receiver()
  t.teardown(rx.close)
  const webhooks = new WebhookNotifier({ webhooks: [], clock: systemClock, random: seededRandom(1), logger })
  t.teardown(() => webhooks.stop())
  webhooks.notify({ n: 1 })
  t.equal(webhooks.pending(), 0, 'no hooks: nothing queued')
  webhooks.reconfigure([{ url: rx.url, timeoutMs: 1_000, retries: 0, headers: {} }])
  webhooks.notify({ n: 2 })
  await until(() => rx.got.length === 1)
  t.same(rx.got, [{ n: 2 }])
})
