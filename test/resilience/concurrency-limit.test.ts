import t from 'tap'
import { ManualClock } from '../../src/clock.js'
import { ClientAbortedError, OverloadedError } from '../../src/errors.js'
import { ConcurrencyLimit } from '../../src/resilience/concurrency-limit.js'

const limit = (maxInFlight: number, maxQueued: number, queueTimeoutMs = 1_000, clock = new ManualClock()) =>
  ({ clock, l: new ConcurrencyLimit({ service: 'svc', maxInFlight, maxQueued, queueTimeoutMs }, clock) })

const settled = async <T>(p: Promise<T>) => {
  let state = 'pending'
  p.then(() => (state = 'resolved'), () => (state = 'rejected'))
  await new Promise((r) => setImmediate(r))
  return state
}

t.test('in-flight cap; no queue means a fast 503 OverloadedError', async (t) => {
  const { l } = limit(2, 0)
  t.ok(l.tryAcquire())
  t.ok(l.tryAcquire())
  t.notOk(l.tryAcquire())
  t.equal(l.inFlight, 2)
  const err = await l.acquire().catch((e: unknown) => e)
  t.type(err, OverloadedError)
  t.equal((err as OverloadedError).status, 503)
  t.equal((err as OverloadedError).code, 'COMMY_ERR_OVERLOADED')
  t.match((err as Error).message, /2 requests in flight/)
  l.release()
  t.ok(l.tryAcquire(), 'a released slot is free again')
  t.equal(l.stats().rejected, 1)
})

t.test('maxInFlight 0 is unlimited and never queues', async (t) => {
  const { l } = limit(0, 0)
  let ok = 0
  for (let i = 0; i < 10_000; i++) if (l.tryAcquire()) ok++
  t.equal(ok, 10_000)
  t.equal(l.inFlight, 10_000)
  await l.acquire()
  for (let i = 0; i < 10_001; i++) l.release()
  t.equal(l.inFlight, 0)
  l.release()
  t.equal(l.inFlight, 0, 'never negative')
})

t.test('FIFO queue: release hands the slot to the oldest waiter; newcomers cannot jump it', async (t) => {
  const { l } = limit(1, 3)
  t.ok(l.tryAcquire())
  const order: number[] = []
  const waiters = [1, 2, 3].map((i) => l.acquire().then(() => order.push(i)))
  t.equal(l.queued, 3)
  const full = await l.acquire().catch((e: unknown) => e)
  t.type(full, OverloadedError, 'queue full: fail fast')
  t.match((full as Error).message, /1 in flight and 3 queued/)
  l.release()
  t.notOk(l.tryAcquire(), 'the freed slot went to the queue, not to a newcomer')
  await waiters[0]
  t.same(order, [1])
  t.equal(l.inFlight, 1)
  l.release()
  l.release()
  await Promise.all(waiters)
  t.same(order, [1, 2, 3])
  t.equal(l.queued, 0)
  l.release()
  t.equal(l.inFlight, 0)
})

t.test('queue timeout rejects with OverloadedError and frees the queue place', async (t) => {
  const { l, clock } = limit(1, 1, 500)
  l.tryAcquire()
  const p = l.acquire()
  clock.advance(499)
  t.equal(await settled(p), 'pending')
  clock.advance(1)
  const err = await p.catch((e: unknown) => e)
  t.type(err, OverloadedError)
  t.match((err as Error).message, /queued longer than 500ms/)
  t.equal(l.queued, 0)
  t.match(l.stats(), { inFlight: 1, queued: 0, rejected: 1, timedOut: 1 })
  const q = l.acquire()
  l.release()
  await q
  t.equal(l.inFlight, 1, 'the slot passed to the next waiter')
  t.equal(clock.pending(), 0, 'its timer is cancelled')
})

t.test('an aborted waiter leaves the queue; the slot goes to the next one', async (t) => {
  const { l, clock } = limit(1, 5)
  l.tryAcquire()
  const ac = new AbortController()
  const a = l.acquire(ac.signal)
  const b = l.acquire()
  ac.abort()
  const err = await a.catch((e: unknown) => e)
  t.ok(err instanceof ClientAbortedError || (err as Error).name === 'AbortError', 'rejected with the abort reason')
  t.equal(l.queued, 1)
  l.release()
  await b
  t.equal(l.inFlight, 1)
  await t.rejects(l.acquire(AbortSignal.abort(new ClientAbortedError())), ClientAbortedError, 'already aborted')
  t.equal(clock.pending(), 0)
})

t.test('stop rejects queued requests with DrainingError', async (t) => {
  const { l } = limit(1, 5)
  l.tryAcquire()
  const p = l.acquire()
  l.stop()
  await t.rejects(p, { code: 'COMMY_ERR_DRAINING' })
  await t.rejects(l.acquire(), { code: 'COMMY_ERR_DRAINING' })
  l.stop()
})

t.test('the hot path is cheap: tryAcquire/release with a free slot', async (t) => {
  const { l } = limit(1_000, 10)
  const n = 1_000_000
  const t0 = performance.now()
  for (let i = 0; i < n; i++) {
    l.tryAcquire()
    l.release()
  }
  const nsPerOp = ((performance.now() - t0) * 1e6) / n
  t.ok(nsPerOp < 500, `${nsPerOp.toFixed(1)} ns per acquire+release`)
})
