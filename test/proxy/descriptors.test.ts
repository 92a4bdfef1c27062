import t from 'tap'
import { ManualClock } from '../../src/clock.js'
import { connectionCap, DescriptorEpisodes, parseNofile } from '../../src/proxy/descriptors.js'
import { fromUndiciError } from '../../src/transport/undici-errors.js'
import { LocalResourcesError } from '../../src/errors.js'
import { classify } from '../../src/pipeline/failure-classifier.js'
import { isFreeRetry, retryCondition } from '../../src/pipeline/retry-rules.js'
import { accessLinesIn } from '../../src/log.js'
import { runCheck } from '../../src/health/check.js'

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            20000                524288               files
Max locked memory         8388608              8388608              bytes
`

t.test('the descriptor limit is the soft "Max open files" of /proc/<pid>/limits', async (t) => {
  t.equal(parseNofile(LIMITS), 20000)
  t.equal(parseNofile(LIMITS.replace('20000 ', 'unlimited ')), undefined, 'unlimited: no share to keep')
  t.equal(parseNofile('nothing here'), undefined)
})

t.test('the effective connection cap leaves half the descriptors for everything else', async (t) => {
  t.equal(connectionCap(10_000, 20_000, 1), 10_000, 'the default fits this machine exactly')
  t.equal(connectionCap(10_000, 1024, 1), 512, 'a common soft limit of 1024: 512 inbound')
  t.equal(connectionCap(10_000, 20_000, 4), 2500, 'split over the listeners')
  t.equal(connectionCap(100, 20_000, 1), 100, 'a configured value below the share is kept')
  t.equal(connectionCap(10_000, undefined, 1), 10_000, 'unknown limit: the configured value')
  t.equal(connectionCap(10_000, 1, 3), 1, 'never 0')
})

t.test('descriptor exhaustion is logged once per episode: a warning at the start, an info line with the count at the end', async (t) => {
  const clock = new ManualClock(1000)
  const lines: { level: string; obj: Record<string, unknown>; msg: string }[] = []
  let sheds = 0
  const episodes = new DescriptorEpisodes({
    clock,
    quietMs: 5000,
    log: { warn: (obj, msg) => lines.push({ level: 'warn', obj: obj as Record<string, unknown>, msg }), info: (obj, msg) => lines.push({ level: 'info', obj: obj as Record<string, unknown>, msg }) },
    onStart: () => sheds++,
    onEnd: () => ends++,
  })
  let ends = 0
  for (let i = 0; i < 50; i++) {
    episodes.hit(i % 2 === 0 ? 'accept' : 'connect')
    clock.advance(100)
  }
  t.equal(lines.length, 1, 'one line for 50 hits')
  t.match(lines[0], { level: 'warn', obj: { op: 'accept' }, msg: /out of file descriptors/ })
  t.equal(sheds, 1, 'load shed once, at the start')
  t.ok(episodes.active)
  clock.advance(4000)
  t.equal(lines.length, 1, 'not over while hits are recent')
  clock.advance(2000)
  t.equal(lines.length, 2)
  t.match(lines[1], { level: 'info', obj: { count: 50, durationMs: 4900 }, msg: 'file descriptors available again' })
  t.notOk(episodes.active)
  t.equal(ends, 1, 'shedding ends with the episode')
  t.same(episodes.counts(), { accept: 25, connect: 25 }, 'counted by operation')

  episodes.hit('connect')
  t.equal(lines.length, 3, 'a new episode warns again')
  t.equal(sheds, 2)
  episodes.stop()
  clock.advance(60_000)
  t.equal(lines.length, 3, 'stopped: no timer left')
})

t.test('an upstream connect that fails with EMFILE/ENFILE is a local condition, not the endpoint\'s failure', async (t) => {
  for (const code of ['EMFILE', 'ENFILE']) {
    const err = Object.assign(new Error(`connect ${code}`), { code, syscall: 'connect' })
    for (const connected of [false, true]) {
      const e = fromUndiciError(err, { endpoint: '127.0.0.1:1', connected, responseStarted: false, headersReceived: false, bodyBytesSent: 0, timeoutMs: 0 })
      t.type(e, LocalResourcesError, `${code}, connected ${connected}`)
      t.equal(e.code, 'COMMY_ERR_LOCAL_RESOURCES')
      t.equal(e.status, 503)
      t.equal(e.cause, err, 'cause kept')
      t.equal(classify(e).verdict, 'neutral', 'does not count against the endpoint (breaker, ejection)')
      t.equal(retryCondition(e), undefined, "matches no retry condition (not a connect failure or reset)")
      t.notOk(isFreeRetry(e, 'GET'), 'no free retry: not the keep-alive race')
    }
  }
})

t.test('dropped access lines are counted in a dropped chunk; component lines beside them are not', async (t) => {
  const access = '{"level":30,"time":1,"log":"access","path":"/x"}\n'
  const component = '{"level":40,"time":1,"msg":"something"}\n'
  t.equal(accessLinesIn(access.repeat(3) + component), 3)
  t.equal(accessLinesIn(Buffer.from(component + access)), 1)
  t.equal(accessLinesIn(''), 0)
})

t.test('a health check that could not connect for lack of descriptors is inconclusive, not a failed check', async (t) => {
  const clock = new ManualClock()
  const failing = (code: string) => ({ check: () => Promise.reject(Object.assign(new Error(code), { code })) })
  const target = { host: '127.0.0.1', port: 1 }
  t.match(await runCheck(failing('EMFILE'), target, 1000, clock), { ok: false, inconclusive: true, reason: 'request failed: EMFILE' })
  t.match(await runCheck(failing('ENFILE'), target, 1000, clock), { ok: false, inconclusive: true })
  t.notOk((await runCheck(failing('ECONNREFUSED'), target, 1000, clock)).inconclusive, 'a refused connect is the endpoint\'s failure')
})
