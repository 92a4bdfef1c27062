import t from 'tap'
import { jsonLinesToText, levelText, recordText, textValue, timeText } from '../src/log-text.js'

t.test('values: plain ones bare, anything else JSON-quoted with non-ASCII escaped', async (t) => {
  t.equal(textValue('127.0.0.1:8080'), '127.0.0.1:8080')
  t.equal(textValue('COMMY_ERR_X'), 'COMMY_ERR_X')
  t.equal(textValue(''), '""')
  t.equal(textValue('a b'), '"a b"')
  t.equal(textValue('k=v'), '"k=v"', 'an = would read as another pair')
  t.equal(textValue('x\n{"level":60}'), '"x\\n{\\"level\\":60}"')
  t.equal(textValue('\u001b[31mred\u202e'), '"\\u001b[31mred\\u202e"', 'no terminal escape or bidi override gets through')
  t.equal(timeText(Date.UTC(2026, 11, 4, 21, 0, 0, 5)), '2026-12-04T21:00:00.005Z')
  t.equal(levelText(40), 'WARN ')
  t.equal(levelText(99), '99   ')
})

t.test('records: time LEVEL component msg key=value, nested objects flattened, stacks only from error up', async (t) => {
  const line = recordText({
    level: 40,
    time: Date.UTC(2026, 0, 1),
    pid: 1,
    hostname: 'h',
    node: 'a',
    component: 'gossip',
    member: 'b',
    from: 'alive',
    incarnation: 3,
    ok: true,
    seeds: ['127.0.0.1:1', '127.0.0.1:2'],
    err: { type: 'Error', message: 'boom here', stack: 'Error: boom\n    at x' },
    list: [{ a: 1 }],
    none: null,
    msg: 'member state changed',
  })
  t.equal(
    line,
    '2026-01-01T00:00:00.000Z WARN  gossip member state changed node=a member=b from=alive incarnation=3 ok=true seeds=127.0.0.1:1,127.0.0.1:2 err.type=Error err.message="boom here" list.0.a=1 none=null\n',
  )
  t.match(recordText({ level: 50, time: 0, msg: 'x', err: { message: 'm', stack: 'S\n  at' } }), /err\.stack="S\\n {2}at"/)
  t.equal(recordText({ level: 30, time: 0 }), '1970-01-01T00:00:00.000Z INFO  - -\n', 'no component, no message')
  t.equal(recordText({ level: 30, time: 0, msg: 'two\nlines' }), '1970-01-01T00:00:00.000Z INFO  - two lines\n', 'a message stays on its line')
})

t.test('pino chunks: every JSON line converted, anything else passes', async (t) => {
  const out = jsonLinesToText('{"level":30,"time":0,"msg":"a"}\n{"level":30,"time":0,"msg":"b"}\nnot json\n[1]\n')
  t.equal(out, '1970-01-01T00:00:00.000Z INFO  - a\n1970-01-01T00:00:00.000Z INFO  - b\nnot json\n[1]\n')
})
