import t from 'tap'
import { failsNow, isKnob, turnKnob, type KnobState } from '../../src/demo/knobs.js'

const fresh = (): KnobState => ({ failRate: 0, failHealth: false, slowMs: 0 })
const q = (s: string) => new URLSearchParams(s)

t.test('fail: a rate from 0 to 1, /health only when asked, 0 heals', async (t) => {
  const s = fresh()
  t.same(turnKnob(s, '/fail', q('rate=0.5')), { ok: true, state: { failRate: 0.5, failHealth: false, slowMs: 0 } })
  t.ok(failsNow(s, false, () => 0.4))
  t.notOk(failsNow(s, false, () => 0.6))
  t.notOk(failsNow(s, true, () => 0), '/health keeps passing')
  turnKnob(s, '/fail', q('rate=1&health=1'))
  t.ok(failsNow(s, true, () => 0.99), '/health fails too')
  turnKnob(s, '/fail', q('rate=0&health=1'))
  t.same(s, fresh(), 'healed')
  t.notOk(failsNow(s, true, () => 0))
  turnKnob(s, '/fail', q(''))
  t.equal(s.failRate, 1, 'no rate: fail everything')
  for (const bad of ['rate=2', 'rate=-0.1', 'rate=x', 'rate=']) {
    const before = { ...s }
    const r = turnKnob(s, '/fail', q(bad))
    if (bad === 'rate=') t.ok(r.ok, 'an empty rate reads as 0')
    else {
      t.same(r, { ok: false, error: 'rate must be a number from 0 to 1' }, bad)
      t.same(s, before, 'nothing changed')
    }
  }
})

t.test('slow: whole milliseconds up to a minute', async (t) => {
  const s = fresh()
  t.same(turnKnob(s, '/slow', q('ms=300')), { ok: true, state: { failRate: 0, failHealth: false, slowMs: 300 } })
  t.notOk(turnKnob(s, '/slow', q('ms=1.5')).ok)
  t.notOk(turnKnob(s, '/slow', q('ms=60001')).ok)
  t.equal(s.slowMs, 300)
  t.ok(isKnob('/fail') && isKnob('/slow') && !isKnob('/failing'))
})
