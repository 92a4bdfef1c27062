import t from 'tap'
import fc from 'fast-check'
import { formatTraceparent, parseTraceparent } from '../../src/tracing/traceparent.js'
import { Ids } from '../../src/tracing/ids.js'

const T = '4bf92f3577b34da6a3ce929d0e0e4736'
const S = '00f067aa0ba902b7'

t.test('valid traceparents are read, with the sampled flag', async (t) => {
  t.same(parseTraceparent(`00-${T}-${S}-01`), { traceId: T, spanId: S, sampled: true })
  t.same(parseTraceparent(`00-${T}-${S}-00`), { traceId: T, spanId: S, sampled: false })
  t.same(parseTraceparent(`00-${T}-${S}-03`)?.sampled, true, 'other flags ignored')
  t.same(parseTraceparent(`cc-${T}-${S}-01-what-the-future-holds`), { traceId: T, spanId: S, sampled: true }, 'a later version is read as 00')
})

t.test('invalid traceparents are refused', async (t) => {
  for (const bad of [
    '',
    `00-${T}-${S}-1`,
    `00-${T}-${S}-01-extra`, // version 00 has exactly 55 characters
    `ff-${T}-${S}-01`,
    `00-${T.toUpperCase()}-${S}-01`,
    `00-${'0'.repeat(32)}-${S}-01`,
    `00-${T}-${'0'.repeat(16)}-01`,
    `00_${T}-${S}-01`,
    `00-${T}-${S}-0g`,
    `cc-${T}-${S}-01extra`,
  ]) {
    t.equal(parseTraceparent(bad), undefined, JSON.stringify(bad))
  }
})

t.test('format and parse agree; ids are random lower-case hex, never zero', async (t) => {
  const ids = new Ids()
  const seen = new Set<string>()
  let wellFormed = true
  for (let i = 0; i < 2000; i++) {
    const trace = ids.traceId()
    const span = ids.spanId()
    wellFormed &&= /^[0-9a-f]{32}$/.test(trace) && /^[0-9a-f]{16}$/.test(span)
    seen.add(span)
    if (i < 5) t.same(parseTraceparent(formatTraceparent(trace, span, i % 2 === 0)), { traceId: trace, spanId: span, sampled: i % 2 === 0 })
  }
  t.ok(wellFormed, 'lower-case hex of the right length')
  t.equal(seen.size, 2000, 'span ids do not repeat (pool refills)')
  fc.assert(
    fc.property(fc.string(), (s) => {
      const p = parseTraceparent(s)
      return p === undefined || (p.traceId.length === 32 && p.spanId.length === 16)
    }),
  )
})
