import t from 'tap'
import { LoopLagMonitor } from '../../src/resilience/loop-lag.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const busy = (ms: number) => {
  const end = performance.now() + ms
  while (performance.now() < end);
}

t.test('a 300 ms busy loop is detected as lag, and it clears afterwards', async (t) => {
  const flips: [boolean, number][] = []
  const mon = new LoopLagMonitor({ thresholdMs: 150, sampleMs: 50, onChange: (lagging, ms) => flips.push([lagging, ms]) })
  mon.start()
  mon.start()
  t.teardown(() => mon.stop())
  await sleep(120)
  t.equal(mon.isLagging(), false, 'an idle loop is not lagging')
  busy(300)
  // the first sample after the block sees it (timer drift), well before the next one
  for (let i = 0; i < 20 && !mon.isLagging(); i++) await sleep(10)
  t.equal(mon.isLagging(), true, 'lagging after the busy loop')
  t.ok(mon.delayMs > 150, `measured ${mon.delayMs.toFixed(0)} ms`)
  for (let i = 0; i < 50 && mon.isLagging(); i++) await sleep(20)
  t.equal(mon.isLagging(), false, 'recovers once the loop is free')
  t.equal(flips.length, 2)
  t.equal(flips[0]![0], true)
  t.equal(flips[1]![0], false)
  const check = mon.isLagging
  t.equal(typeof check(), 'boolean', 'isLagging is bound: it can be injected as a plain function')
  mon.stop()
  mon.stop()
  t.equal(mon.isLagging(), false)
})
