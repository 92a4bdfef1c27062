/** Stream admission and frame reading without sockets: slots, eviction order, the budget, the header-first reader. */
import t from 'tap'
import { frame, FrameReader } from '../../src/membership/frame-reader.js'
import { StreamSlots } from '../../src/membership/stream-slots.js'

t.test('FrameReader: the header may arrive split, the length is checked before anything is kept', async (t) => {
  const r = new FrameReader(10)
  const f = frame(Buffer.from('hello'))
  t.match(r.push(f.subarray(0, 1)), { state: 'header' })
  t.notOk(r.started)
  t.match(r.push(f.subarray(1, 6)), { state: 'body' })
  t.ok(r.started)
  const done = r.push(Buffer.concat([f.subarray(6), Buffer.from('trailing')]))
  t.equal(done.state === 'frame' && done.frame.toString(), 'hello', 'bytes past the frame are ignored')
  t.match(new FrameReader(10).push(frame(Buffer.alloc(11))), { state: 'oversize', announced: 11 })
  let asked = 0
  t.match(new FrameReader(100, (n) => ((asked = n), false)).push(frame(Buffer.alloc(50)).subarray(0, 4)), { state: 'over-budget' })
  t.equal(asked, 50, 'the whole announced length is reserved on the header')
  const empty = new FrameReader(10).push(frame(Buffer.alloc(0)))
  t.equal(empty.state === 'frame' && empty.frame.length, 0)
})

t.test('StreamSlots: per-source share, then all slots; the longest-idle reading stream is evicted, an answering one never', async (t) => {
  const cut: string[] = []
  const slots = new StreamSlots({ maxStreams: 3, maxStreamsPerSource: 2, maxBufferedBytes: 100 })
  const admit = (source: string, id: string) => slots.admit(source, () => cut.push(id))
  const a1 = admit('a', 'a1')!
  admit('a', 'a2')
  slots.touch(a1) // a1 active since: a2 is now the longest idle
  admit('a', 'a3')
  t.same(cut, ['a2'], 'a source over its share evicts its own longest-idle stream')
  const b1 = admit('b', 'b1')!
  t.equal(slots.size, 3)
  const c1 = admit('c', 'c1')!
  t.same(cut, ['a2', 'a1'], 'all slots taken: the longest idle of all is evicted')
  for (const s of [b1, c1]) s.phase = 'answering'
  admit('c', 'c2')!.phase = 'answering'
  t.same(cut, ['a2', 'a1', 'a3'], 'the reading one goes')
  t.equal(admit('d', 'd1'), undefined, 'nothing but answering streams: refused')
  slots.release(b1)
  slots.release(b1)
  t.equal(slots.size, 2, 'release is idempotent')
})

t.test('StreamSlots: the budget is reserved per frame; longest-idle holders are cut to make room', async (t) => {
  const cut: string[] = []
  const slots = new StreamSlots({ maxStreams: 10, maxStreamsPerSource: 10, maxBufferedBytes: 100 })
  const s1 = slots.admit('x', () => cut.push('s1'))!
  const s2 = slots.admit('x', () => cut.push('s2'))!
  const idle = slots.admit('x', () => cut.push('idle'))!
  t.ok(slots.reserve(s1, 60))
  t.ok(slots.reserve(s2, 30))
  t.equal(slots.buffered, 90)
  const s3 = slots.admit('x', () => cut.push('s3'))!
  t.ok(slots.reserve(s3, 50), 'room made')
  t.same(cut, ['s1'], 'the longest-idle holder was cut, not the idle stream that holds nothing')
  t.equal(slots.buffered, 80)
  t.notOk(slots.reserve(s3, 101), 'more than the whole budget: refused')
  s2.phase = 'answering'
  s3.phase = 'answering'
  const s4 = slots.admit('x', () => cut.push('s4'))!
  t.notOk(slots.reserve(s4, 50), 'only answering streams hold the budget: refused')
  slots.discharge(s3)
  t.equal(slots.buffered, 30)
  t.ok(slots.reserve(s4, 50))
  slots.release(idle)
  slots.release(s4)
  t.equal(slots.buffered, 30)
})
