import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { accessLine, accessLog, AccessLineFormat, showTries } from '../../src/proxy/access-log.js'
import type { RequestRecord } from '../../src/proxy/request-record.js'
import { createLogs, LineBatch } from '../../src/log.js'
import { removeTempDir, tempDir } from '../helpers/temp.js'

const record: RequestRecord = {
  listener: 'outbound',
  method: 'GET',
  path: '/a "quoted" \\ path\u0001',
  route: 'r',
  service: 's',
  endpoint: '127.0.0.1:1',
  status: 200,
  durationMs: 1.25,
  bytesIn: 3,
  bytesOut: 4,
  attempts: 1,
  requestId: 'id-1',
  code: undefined,
  tries: [],
}

t.test('access lines are pino-format JSON with every field', async (t) => {
  const line = accessLine(record, 1234)
  t.ok(line.endsWith('}\n'))
  const j = JSON.parse(line) as Record<string, unknown>
  const { code: _code, tries: _tries, ...fields } = record
  t.strictSame(j, { level: 30, time: 1234, log: 'access', ...fields })
  t.notOk('code' in j, 'absent fields are left out')
  const err = JSON.parse(accessLine({ ...record, route: undefined, service: undefined, endpoint: undefined, status: 404, code: 'COMMY_ERR_NO_ROUTE' }, 1)) as Record<string, unknown>
  t.equal(err.code, 'COMMY_ERR_NO_ROUTE')
  t.notOk('route' in err)
})

t.test('lines are batched and all written by close()', async (t) => {
  const dir = tempDir('commy-log-')
  t.teardown(() => removeTempDir(dir))
  const file = join(dir, 'sub', 'access.log')
  const logs = createLogs({ level: 'info', destination: file, accessLog: true, format: 'json' })
  const observe = accessLog(logs.access!, () => 1)
  for (let i = 0; i < 1000; i++) observe({ ...record, requestId: `id-${i}` })
  logs.logger.info('component line')
  await logs.close()
  await logs.close()
  const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { requestId?: string; msg?: string })
  t.equal(lines.filter((l) => l.requestId !== undefined).length, 1000, 'every access line written')
  t.ok(lines.some((l) => l.msg === 'component line'))
  const withoutAccess = createLogs({ level: 'info', destination: file, accessLog: false, format: 'json' })
  t.equal(withoutAccess.accessSettings?.enabled, false, 'off: the observer writes nothing (a reload may turn it on)')
  await withoutAccess.close()
})

t.test('a line batch writes when full and on its timer', async (t) => {
  const writes: string[] = []
  const b = new LineBatch({ write: (s: string) => void writes.push(s) }, 10, 20)
  b.write('12345\n')
  t.equal(writes.length, 0, 'held')
  b.write('67890\n')
  t.same(writes, ['12345\n67890\n'], 'one write when full')
  b.write('x\n')
  await new Promise((r) => setTimeout(r, 60))
  t.same(writes.at(-1), 'x\n', 'flushed by the timer')
  b.close()
})

const hostile = 'evil\n{"level":60}\u001b[31m "q" \\ \u202e'

t.test('who asked: host, client, user agent, protocol and the node name, everything from the client escaped', async (t) => {
  const r: RequestRecord = { ...record, host: `h${hostile}`, client: '127.0.0.1', userAgent: `ua ${hostile}`, httpVersion: '1.1' }
  const line = accessLine(r, 5, { node: 'node-a' })
  t.equal(line.split('\n').length, 2, 'one line')
  const j = JSON.parse(line) as Record<string, unknown>
  t.equal(j.node, 'node-a')
  t.equal(j.host, r.host)
  t.equal(j.client, '127.0.0.1')
  t.equal(j.userAgent, r.userAgent)
  t.equal(j.protocol, 'HTTP/1.1')
  t.notOk('tries' in j, 'no tries on an ordinary line')
  t.equal((JSON.parse(accessLine({ ...r, httpVersion: '2.0' }, 5)) as { protocol: string }).protocol, 'HTTP/2')
  const f = new AccessLineFormat({ node: 'n' })
  t.equal(f.line(r, 1), f.line(r, 1), 'cached quoting gives the same line')
  t.equal(f.line({ ...r, userAgent: 'x'.repeat(500) }, 1).includes('x'.repeat(500)), true, 'long values are quoted, not cached')
})

t.test('tries are listed when there was more than one or one failed', async (t) => {
  const ok = { endpoint: '127.0.0.1:1', startedAt: 0, endedAt: 1, status: 200, code: undefined }
  const bad = { endpoint: '127.0.0.1:2', startedAt: 0, endedAt: 1, status: 503, code: undefined }
  const refused = { endpoint: '127.0.0.1:3', startedAt: 0, endedAt: 1, status: undefined, code: 'COMMY_ERR_UPSTREAM_CONNECT' }
  t.notOk(showTries([]))
  t.notOk(showTries([ok]))
  t.notOk(showTries([{ ...ok, status: 404 }]), 'a 4xx is the endpoint working')
  t.ok(showTries([bad]))
  t.ok(showTries([refused]))
  t.ok(showTries([ok, ok]))
  const j = JSON.parse(accessLine({ ...record, attempts: 3, tries: [refused, bad, ok] }, 1)) as { tries: unknown }
  t.strictSame(j.tries, [
    { endpoint: '127.0.0.1:3', code: 'COMMY_ERR_UPSTREAM_CONNECT' },
    { endpoint: '127.0.0.1:2', status: 503 },
    { endpoint: '127.0.0.1:1', status: 200 },
  ])
})

t.test('text lines: time level access method path status duration key=value, one line, escaped', async (t) => {
  const bad = { endpoint: '127.0.0.1:2', startedAt: 0, endedAt: 1, status: 503, code: undefined }
  const r: RequestRecord = { ...record, path: '/p', userAgent: `curl ${hostile}`, client: '127.0.0.1', host: 'svc', httpVersion: '1.1', attempts: 2, tries: [bad, { ...bad, status: 200 }] }
  const line = new AccessLineFormat({ node: 'a' }).text(r, Date.UTC(2026, 0, 2, 3, 4, 5, 6))
  t.equal(line.split('\n').length, 2, 'one line')
  t.match(line, /^2026-01-02T03:04:05\.006Z INFO {2}access GET \/p 200 1\.25ms node=a listener=outbound route=r service=s endpoint=127\.0\.0\.1:1 /)
  t.match(line, / host=svc client=127\.0\.0\.1 userAgent="curl evil\\n\{\\"level\\":60\}\\u001b\[31m \\"q\\" \\\\ \\u202e" protocol=HTTP\/1\.1 tries=127\.0\.0\.1:2:503,127\.0\.0\.1:2:200\n$/)
  // eslint-disable-next-line no-control-regex -- looking for control characters is the point
  t.notOk(/[\u0000-\u0009\u000b-\u001f\u007f-\uffff]/.test(line), 'no control or non-ASCII character reaches the terminal')
})

t.test('settings read per request: off writes nothing, text and json switch', async (t) => {
  const lines: string[] = []
  const settings = { enabled: false, format: 'json' as 'json' | 'text' }
  const observe = accessLog({ write: (l) => void lines.push(l) }, () => 1, { node: 'a', settings })
  observe(record)
  t.equal(lines.length, 0)
  settings.enabled = true
  observe(record)
  settings.format = 'text'
  observe(record)
  t.equal(lines.length, 2)
  t.equal((JSON.parse(lines[0]!) as { node: string }).node, 'a')
  t.match(lines[1]!, / INFO {2}access GET /)
})
