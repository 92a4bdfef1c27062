import t from 'tap'
import { BINS, HISTOGRAM_PRECISION, binOf, binValueMs, quantileBin } from '../../src/health/histogram.js'
import { seededRandom } from '../../src/clock.js'

t.test('bins are monotonic, cover 0..134 s, and report values within the stated precision', async (t) => {
  t.equal(BINS, 200)
  t.equal(HISTOGRAM_PRECISION, 0.0625)
  t.equal(binOf(0), 0)
  t.equal(binOf(-5), 0)
  t.equal(binOf(Number.NaN), 0)
  t.equal(binOf(1e9), BINS - 1, 'huge values land in the last bin')
  t.equal(binOf(0.007), 7, 'one bin per µs below 16 µs')
  t.equal(binValueMs(7), 0.0075)
  let prev = 0
  let worst = 0
  const rnd = seededRandom(9)
  for (let i = 0; i < 100_000; i++) {
    const ms = 0.016 * Math.exp(rnd() * Math.log(130_000 / 0.016))
    const b = binOf(ms)
    if (!(b >= 0 && b < BINS)) t.fail(`bin ${b} for ${ms}`)
    const err = Math.abs(binValueMs(b) - ms) / ms
    worst = Math.max(worst, err)
  }
  t.ok(worst <= HISTOGRAM_PRECISION + 1e-9, `worst relative error ${worst}`)
  for (let us = 0; us < 2_000_000; us += 7) {
    const b = binOf(us / 1000)
    if (b < prev) t.fail(`bin went down at ${us} µs`)
    prev = b
  }
})

t.test('quantileBin picks the bin where the cumulative count reaches ceil(q × n)', async (t) => {
  const h = new Uint32Array(BINS)
  for (let v = 1; v <= 100; v++) h[binOf(v)]!++
  const val = (q: number) => binValueMs(quantileBin(h, 0, 100, q))
  for (const [q, exact] of [[0.5, 50], [0.9, 90], [0.99, 99]] as const) {
    t.ok(Math.abs(val(q) - exact) / exact <= HISTOGRAM_PRECISION, `p${q * 100} = ${val(q)} ≈ ${exact}`)
  }
  t.equal(quantileBin(new Uint32Array(BINS), 0, 0, 0.5), -1, 'empty')
})
