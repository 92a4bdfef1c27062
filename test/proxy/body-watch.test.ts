/**
 * The trickling-body rules on a manual clock: idle limit, minimum rate after the grace, time the
 * reader is behind not counted, no timer once the body is complete.
 */
import t from 'tap'
import type { IncomingMessage } from 'node:http'
import { ManualClock } from '../../src/clock.js'
import type { RequestTimeoutError } from '../../src/errors.js'
import { BodyWatch, RATE_GRACE_MS } from '../../src/proxy/body-watch.js'

interface FakeReq {
  complete: boolean
  destroyed: boolean
  readableLength: number
  socket: { bytesRead: number }
}

function watch(limits: { requestBodyIdleTimeoutMs: number; minRequestBodyRate: number }) {
  const clock = new ManualClock(1000)
  const req: FakeReq = { complete: false, destroyed: false, readableLength: 0, socket: { bytesRead: 200 } }
  const fired: RequestTimeoutError[] = []
  const w = BodyWatch.start(req as unknown as IncomingMessage, limits, clock, (e) => fired.push(e))
  /** Moves time in steps of `step` ms, the client sending `bytesPerStep` each step. */
  const run = (ms: number, step: number, bytesPerStep: number) => {
    for (let done = 0; done < ms && fired.length === 0; done += step) {
      req.socket.bytesRead += bytesPerStep
      clock.advance(step)
    }
  }
  return { clock, req, fired, w, run }
}

t.test('a body that sends nothing for the idle limit is cut; one that keeps sending is not', async (t) => {
  const idle = watch({ requestBodyIdleTimeoutMs: 1000, minRequestBodyRate: 0 })
  idle.run(900, 100, 0)
  t.equal(idle.fired.length, 0, 'not yet')
  idle.run(400, 100, 0)
  t.equal(idle.fired.length, 1)
  t.match(idle.fired[0]!, { code: 'COMMY_ERR_REQUEST_TIMEOUT', status: 408, message: /limits\.requestBodyIdleTimeout 1000ms/ })

  const busy = watch({ requestBodyIdleTimeoutMs: 1000, minRequestBodyRate: 0 })
  busy.run(20_000, 250, 1)
  t.equal(busy.fired.length, 0, 'a byte every 250 ms is never idle for 1 s')
})

t.test('under the minimum rate after the 5 s grace: cut; at or above it: not', async (t) => {
  const slow = watch({ requestBodyIdleTimeoutMs: 0, minRequestBodyRate: 240 })
  slow.run(RATE_GRACE_MS - 1000, 1000, 100)
  t.equal(slow.fired.length, 0, 'the grace holds')
  slow.run(2000, 1000, 100)
  t.equal(slow.fired.length, 1)
  t.match(slow.fired[0]!.message, /100 B\/s, under limits\.minRequestBodyRate 240 B\/s/)

  const fast = watch({ requestBodyIdleTimeoutMs: 0, minRequestBodyRate: 240 })
  fast.run(30_000, 1000, 300)
  t.equal(fast.fired.length, 0)
})

t.test('time the reader is behind (data waiting in memory) is not the client\'s', async (t) => {
  const w = watch({ requestBodyIdleTimeoutMs: 1000, minRequestBodyRate: 240 })
  w.req.readableLength = 16 * 1024 // the upstream (or the pool) is not reading
  w.run(30_000, 250, 0)
  t.equal(w.fired.length, 0, 'neither idle nor slow while we are the slow party')
  w.req.readableLength = 0
  w.run(1500, 250, 0)
  t.equal(w.fired.length, 1, 'idle once the client is the one we wait for')
})

t.test('a complete body stops the watch; no limits or an already complete body: no watch at all', async (t) => {
  const w = watch({ requestBodyIdleTimeoutMs: 1000, minRequestBodyRate: 240 })
  w.req.complete = true
  w.run(10_000, 100, 0)
  t.equal(w.fired.length, 0)
  t.equal(w.clock.pending(), 0, 'no timer left')
  const clock = new ManualClock()
  const req = { complete: false, socket: { bytesRead: 0 } } as unknown as IncomingMessage
  t.equal(BodyWatch.start(req, { requestBodyIdleTimeoutMs: 0, minRequestBodyRate: 0 }, clock, () => {}), null)
  const done = { complete: true, socket: { bytesRead: 0 } } as unknown as IncomingMessage
  t.equal(BodyWatch.start(done, { requestBodyIdleTimeoutMs: 1000, minRequestBodyRate: 240 }, clock, () => {}), null)
})
