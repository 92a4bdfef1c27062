import t from 'tap'
import { ManualClock, seededRandom } from '../src/clock.js'
import { Ticker } from '../src/ticker.js'

t.test('runs every interval between start and stop; start and stop are idempotent', async (t) => {
  const clock = new ManualClock()
  const runs: number[] = []
  const tk = new Ticker({ clock, interval: 100, run: () => runs.push(clock.now()) })
  tk.start()
  tk.start()
  t.equal(clock.pending(), 1, 'one timer however often started')
  clock.advance(350)
  t.same(runs, [100, 200, 300])
  tk.stop()
  tk.stop()
  t.equal(clock.pending(), 0, 'no timer left')
  clock.advance(1000)
  t.equal(runs.length, 3)
  tk.start()
  clock.advance(100)
  t.equal(runs.length, 4, 'starts again after a stop')
  tk.stop()
})

t.test('a throwing run is reported and the ticker keeps going', async (t) => {
  const clock = new ManualClock()
  const errors: unknown[] = []
  let n = 0
  const tk = new Ticker({ clock, interval: 10, run: () => { if (++n === 1) throw new Error('boom') }, onError: (e) => errors.push(e) })
  tk.start()
  clock.advance(30)
  t.equal(n, 3)
  t.equal(errors.length, 1)
  tk.stop()
})

t.test('stop() inside run ends the loop; an interval function is read each round; phase spreads the first run', async (t) => {
  const clock = new ManualClock()
  let n = 0
  const tk: Ticker = new Ticker({ clock, interval: 10, run: () => { if (++n === 2) tk.stop() } })
  tk.start()
  clock.advance(100)
  t.equal(n, 2)
  t.equal(clock.pending(), 0)

  const at: number[] = []
  let iv = 10
  const c2 = new ManualClock()
  const g = new Ticker({ clock: c2, interval: () => (iv += 10), run: () => at.push(c2.now()) })
  iv = 0
  g.start() // first delay 10
  c2.advance(100)
  t.same(at, [10, 30, 60, 100], 'each round reads a fresh interval')
  g.stop()

  const c3 = new ManualClock()
  const first: number[] = []
  const p = new Ticker({ clock: c3, interval: 1000, run: () => first.push(c3.now()), phase: seededRandom(1) })
  p.start()
  c3.advance(1000)
  t.equal(first.length, 1)
  t.ok(first[0]! < 1000, 'first run within the first interval')
  p.stop()
})

t.test('rejects a non-positive interval', async (t) => {
  t.throws(() => new Ticker({ clock: new ManualClock(), interval: 0, run: () => {} }), RangeError)
})

t.test('ManualClock fires due timers in time order, ties in scheduling order, and counts pending ones', async (t) => {
  const clock = new ManualClock(5)
  const fired: string[] = []
  clock.setTimer(() => fired.push('b'), 20)
  clock.setTimer(() => fired.push('a'), 10)
  clock.setTimer(() => fired.push('a2'), 10)
  const c = clock.setTimer(() => fired.push('never'), 15)
  c.cancel()
  c.cancel()
  t.equal(clock.pending(), 3)
  clock.setTimer(() => {
    fired.push(`x@${clock.now()}`)
    clock.setTimer(() => fired.push(`y@${clock.now()}`), 1)
  }, 12)
  clock.advance(20)
  t.same(fired, ['a', 'a2', 'x@17', 'y@18', 'b'])
  t.equal(clock.now(), 25)
  clock.advanceTo(30)
  t.equal(clock.now(), 30)
  t.equal(clock.wallNow(), 30)
  t.equal(clock.pending(), 0)
})
