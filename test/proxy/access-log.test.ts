import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { accessLine, accessLog } from '../../src/proxy/access-log.js'
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
  const logs = createLogs({ level: 'info', destination: file, accessLog: true })
  const observe = accessLog(logs.access!, () => 1)
  for (let i = 0; i < 1000; i++) observe({ ...record, requestId: `id-${i}` })
  logs.logger.info('component line')
  await logs.close()
  await logs.close()
  const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { requestId?: string; msg?: string })
  t.equal(lines.filter((l) => l.requestId !== undefined).length, 1000, 'every access line written')
  t.ok(lines.some((l) => l.msg === 'component line'))
  const withoutAccess = createLogs({ level: 'info', destination: file, accessLog: false })
  t.equal(withoutAccess.access, undefined)
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
