/**
 * The tracer and its export queue without a network: a fake exporter records batches and answers
 * when told. Sampling decisions, the traceparent written per try, bounded queue with drops
 * counted, failures logged once per episode, stop() flushing.
 */
import t from 'tap'
import pino from 'pino'
import { Writable } from 'node:stream'
import type { ExportResult } from '@opentelemetry/core'
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base'
import { ManualClock, seededRandom } from '../../src/clock.js'
import { Tracer } from '../../src/tracing/tracer.js'
import { SpanQueue } from '../../src/tracing/span-queue.js'
import { requestRecord } from '../../src/proxy/request-record.js'
import { parseTraceparent } from '../../src/tracing/traceparent.js'

class FakeExporter implements SpanExporter {
  batches: ReadableSpan[][] = []
  pending: ((r: ExportResult) => void)[] = []
  /** Answer at once with this (undefined: hold until `answer`). */
  auto: ExportResult | undefined = { code: 0 }
  shutdowns = 0
  export(spans: ReadableSpan[], done: (r: ExportResult) => void): void {
    this.batches.push(spans)
    if (this.auto) done(this.auto)
    else this.pending.push(done)
  }
  answer(r: ExportResult): void {
    for (const p of this.pending.splice(0)) p(r)
  }
  async shutdown(): Promise<void> {
    this.shutdowns++
  }
}

function logger() {
  const lines: { level: number; msg: string }[] = []
  const log = pino({ level: 'info' }, new Writable({ write: (c: Buffer, _e, cb) => (lines.push(JSON.parse(c.toString()) as { level: number; msg: string }), cb()) }))
  return { log, lines }
}

const config = (sampling: number) => ({ otlp: { endpoint: 'http://127.0.0.1:1/v1/traces', headers: {}, timeoutMs: 1000 }, sampling, serviceName: 'commy' })

function finish(start: number, tries: number) {
  return requestRecord({
    listener: 'l',
    method: 'GET',
    url: '/',
    route: { name: 'r', service: 's' },
    endpoint: '127.0.0.1:1',
    status: 200,
    startedAt: start,
    endedAt: start + 5,
    bytesIn: 0,
    bytesOut: 0,
    attempts: tries,
    requestId: 'x',
    code: undefined,
    tries: Array.from({ length: tries }, (_, i) => ({ endpoint: '127.0.0.1:1', startedAt: start + i, endedAt: start + i + 1, status: i === tries - 1 ? 200 : 503, code: undefined })),
  })
}

t.test('sampled: the traceparent slot is owned by the trace and names each try', async (t) => {
  const exporter = new FakeExporter()
  const tracer = new Tracer({ config: config(1), node: 'n1', clock: new ManualClock(50), random: seededRandom(1), logger: logger().log, exporter: () => exporter, queue: { delayMs: 1 } })
  const headers = ['Host', 'x', 'TraceParent', `00-${'1'.repeat(32)}-${'2'.repeat(16)}-01`, 'traceparent', 'dup', 'accept', '*/*']
  const trace = tracer.begin(headers, 50)
  t.same(headers.filter((_, i) => i % 2 === 0), ['Host', 'TraceParent', 'accept'], 'a second traceparent is removed')
  trace.beforeTry(1)
  const first = parseTraceparent(headers[3]!)!
  trace.beforeTry(2)
  const second = parseTraceparent(headers[3]!)!
  t.equal(first.traceId, '1'.repeat(32))
  t.not(first.spanId, second.spanId)
  t.ok(first.sampled && second.sampled)
  trace.end(finish(50, 2))
  await tracer.stop()
  t.equal(exporter.batches.flat().length, 3)
  t.same(tracer.counts(), { exported: 3, dropped: 0, failed: 0 })
  t.equal(exporter.shutdowns, 1)
  await tracer.stop() // idempotent
})

t.test('sampling ratio decides new traces; an unsampled one gets a fresh unsampled traceparent, nothing is recorded', async (t) => {
  const exporter = new FakeExporter()
  const tracer = new Tracer({ config: config(0.25), node: 'n1', clock: new ManualClock(), random: seededRandom(7), logger: logger().log, exporter: () => exporter, queue: { maxQueue: 1000 } })
  let sampled = 0
  for (let i = 0; i < 4000; i++) {
    const h: string[] = []
    const tr = tracer.begin(h, 0)
    tr.beforeTry(1)
    const p = parseTraceparent(h[1]!)!
    if (p.sampled) sampled++
    tr.end(finish(0, 1))
  }
  t.ok(sampled > 850 && sampled < 1150, `about a quarter sampled (${sampled}/4000)`)
  await tracer.stop()
  t.equal(tracer.counts().exported + tracer.counts().dropped, sampled * 2, 'two spans per sampled request, none for the others')
  t.ok(tracer.counts().dropped > 0, 'more than the queue holds: dropped and counted')
})

t.test('reload: a new otlp gets a new exporter, the old queue is flushed; counts add up', async (t) => {
  const exporters: FakeExporter[] = []
  const { log, lines } = logger()
  const tracer = new Tracer({ config: config(1), node: 'n1', clock: new ManualClock(), random: seededRandom(7), logger: log, exporter: () => (exporters.push(new FakeExporter()), exporters.at(-1)!) })
  const one = () => {
    const tr = tracer.begin([], 0)
    tr.beforeTry(1)
    tr.end(finish(0, 1))
  }
  one()
  tracer.reload({ ...config(1), otlp: { ...config(1).otlp, endpoint: 'http://127.0.0.1:2/v1/traces' } })
  one()
  tracer.reload(undefined)
  await tracer.stop()
  t.equal(exporters.length, 2)
  t.same(exporters.map((e) => e.batches.flat().length), [2, 2])
  t.same(tracer.counts(), { exported: 4, dropped: 0, failed: 0 })
  t.ok(lines.some((l) => l.msg.includes('after a restart')), 'removing tracing is said to need a restart')
})

t.test('the queue: batches, bounded, failures logged once per episode, stop waits a bounded time', async (t) => {
  const exporter = new FakeExporter()
  exporter.auto = undefined
  const { log, lines } = logger()
  const q = new SpanQueue({ exporter, log, maxQueue: 10, maxBatch: 4, delayMs: 60_000, stopWaitMs: 50 })
  const span = {} as ReadableSpan
  q.add([span, span, span, span]) // a full batch goes out at once
  await new Promise((r) => setTimeout(r, 5))
  t.equal(exporter.batches.length, 1)
  q.add(Array.from({ length: 12 }, () => span)) // one export at a time: 10 wait, 2 dropped
  t.equal(q.counts().dropped, 2)
  exporter.answer({ code: 1, error: new Error('refused') })
  await new Promise((r) => setTimeout(r, 5))
  exporter.answer({ code: 1, error: new Error('refused') })
  await new Promise((r) => setTimeout(r, 5))
  t.equal(lines.filter((l) => l.msg.startsWith('trace export failing')).length, 1, 'one warning for the episode')
  exporter.answer({ code: 0 })
  await new Promise((r) => setTimeout(r, 5))
  t.equal(lines.filter((l) => l.msg === 'trace export recovered').length, 1)
  t.same(q.counts(), { exported: 4, dropped: 2, failed: 8 })
  // stop with an export that never answers: bounded wait, what is left is counted as dropped
  await q.stop()
  t.equal(q.counts().dropped + q.counts().exported + q.counts().failed, 16 - 2, 'every span accounted for but the 2 of the export still in flight')
  q.add([span])
  t.equal(q.counts().dropped, 3, 'after stop, spans are dropped')
})

t.test('resilience marks: a breaker transition or ejection shows on the try of that endpoint in whose time it fell', async (t) => {
  const { ResilienceMarks } = await import('../../src/tracing/resilience-marks.js')
  const clock = new ManualClock(1000)
  const marks = new ResilienceMarks(() => clock.now())
  marks.events.breakerTransition!({ service: 's', endpoint: '10.0.0.1:80', endpointId: 's~10.0.0.1:80', from: 'closed', to: 'open', reason: '50% failed' })
  clock.advance(10)
  marks.events.ejection!({ service: 's', endpoint: '10.0.0.1:80', endpointId: 's~10.0.0.1:80', durationMs: 30_000, multiplier: 1, reason: '5 consecutive failures', ejections: 1 })
  const all = marks.eventsOf('10.0.0.1:80', 990, 1020, 0)
  t.same(all.map((e) => e.name), ['commy.breaker.open', 'commy.outlier.ejected'])
  t.same(all[0]!.time, [1, 0], 'at wall time (offset 0 here)')
  t.same(all[1]!.attributes, { 'commy.ejection.duration_ms': 30_000, 'commy.reason': '5 consecutive failures' })
  t.same(marks.eventsOf('10.0.0.1:80', 1001, 1005, 0), [], 'outside the try: none')
  t.same(marks.eventsOf('10.0.0.2:80', 0, 5000, 0), [], 'another endpoint: none')
  for (let i = 0; i < 10; i++) marks.events.breakerTransition!({ service: 's', endpoint: '10.0.0.1:80', endpointId: 'x', from: 'open', to: 'half-open', reason: 'r' })
  t.equal(marks.eventsOf('10.0.0.1:80', 0, 5000, 0).length, 4, 'a few marks per endpoint are kept')
})
