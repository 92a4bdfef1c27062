import t from 'tap'
import { EventHub, Listeners } from '../src/listeners.js'

t.test('Listeners: add returns an unsubscribe; a throwing listener is reported and the others still run', async (t) => {
  const errors: unknown[] = []
  const l = new Listeners<[number, string]>((err) => errors.push(err))
  const got: string[] = []
  const offA = l.add((n, s) => got.push(`a${n}${s}`))
  l.add(() => {
    throw new Error('boom')
  })
  l.add((n, s) => got.push(`c${n}${s}`))
  t.equal(l.size, 3)
  l.emit(1, 'x')
  t.same(got, ['a1x', 'c1x'])
  t.equal(errors.length, 1)
  offA()
  offA()
  l.emit(2, 'y')
  t.same(got, ['a1x', 'c1x', 'c2y'])
  l.clear()
  l.emit(3, 'z')
  t.equal(got.length, 3)
})

t.test('Listeners: adding or removing during an emit takes effect at the next emit', async (t) => {
  const l = new Listeners<[]>()
  let late = 0
  let off = (): void => {}
  l.add(() => {
    l.add(() => late++)
    off()
  })
  let second = 0
  off = l.add(() => second++)
  l.emit()
  t.equal(second, 1, 'removed during the emit, still called this once')
  t.equal(late, 0, 'added during the emit, not called yet')
  l.emit()
  t.equal(second, 1)
  t.equal(late, 1)
})

t.test('Listeners: without onError a throwing listener is dropped, the emitter never sees it', async (t) => {
  const l = new Listeners<[]>()
  l.add(() => {
    throw new Error('x')
  })
  t.doesNotThrow(() => l.emit())
})

interface Table {
  added?(id: string): void
  removed?(id: string, why: string): void
}

t.test('EventHub: objects of callbacks, emit calls those that have the event, wants() and listen()', async (t) => {
  const errors: [unknown, string | undefined][] = []
  const hub = new EventHub<Table>((err, event) => errors.push([err, event]))
  const got: string[] = []
  t.equal(hub.wants('removed'), false)
  const off = hub.on({ added: (id) => got.push(`+${id}`) })
  hub.on({
    removed: () => {
      throw new Error('bad')
    },
  })
  const offListen = hub.listen('removed', (id, why) => got.push(`-${id}:${why}`))
  t.equal(hub.wants('removed'), true)
  hub.emit('added', 'a')
  hub.emit('removed', 'a', 'gone')
  t.same(got, ['+a', '-a:gone'])
  t.equal(errors.length, 1)
  t.equal(errors[0]![1], 'removed', 'the error names the event')
  off()
  offListen()
  hub.emit('added', 'b')
  t.same(got, ['+a', '-a:gone'])
  t.equal(hub.size, 1)
})

t.test('EventHub: callbacks are called as methods of their subscriber', async (t) => {
  const hub = new EventHub<Table>()
  const sub = {
    seen: [] as string[],
    added(id: string) {
      this.seen.push(id)
    },
  }
  hub.on(sub)
  hub.emit('added', 'x')
  t.same(sub.seen, ['x'])
})
