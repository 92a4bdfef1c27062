/**
 * readHead: a body whose end is already buffered behind the chunk that reaches the limit is
 * read as a whole (its 'end' would otherwise be emitted before anyone listens for it: a body
 * that arrived in the same packet as its headers, as the preface split hands it over).
 */
import { Readable } from 'node:stream'
import t from 'tap'
import { PrefixedBody, readHead } from '../../src/proxy/request-body.js'

t.test('the end buffered behind the limit: the whole body, ended', async (t) => {
  const s = new Readable({ read() {} })
  s.push(Buffer.alloc(5000, 'c'))
  s.push(null)
  const head = await readHead(s, 1024)
  t.equal(head.ended, true)
  t.equal(head.data.length, 5000)
})

t.test('more to come: the head, then the rest through PrefixedBody', async (t) => {
  const s = new Readable({ read() {} })
  s.push(Buffer.alloc(2000, 'a'))
  const head = await readHead(s, 1024)
  t.equal(head.ended, false)
  t.equal(head.data.length, 2000)
  const body = new PrefixedBody(head.data, s)
  s.push(Buffer.alloc(500, 'b'))
  s.push(null)
  let n = 0
  for await (const c of body) n += (c as Buffer).length
  t.equal(n, 2500, 'nothing lost')
})
