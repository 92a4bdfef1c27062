import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { createLogs } from '../src/log.js'
import type { LogConfig } from '../src/config/types.js'
import { accessLog } from '../src/proxy/access-log.js'
import type { RequestRecord } from '../src/proxy/request-record.js'
import { removeTempDir, tempDir } from './helpers/temp.js'

const record: RequestRecord = {
  listener: 'l',
  method: 'GET',
  path: '/p',
  route: 'r',
  service: 's',
  endpoint: '127.0.0.1:1',
  status: 200,
  durationMs: 1,
  bytesIn: 0,
  bytesOut: 2,
  attempts: 1,
  requestId: 'id',
  code: undefined,
  tries: [],
}

const config = (over: Partial<LogConfig>): LogConfig => ({ level: 'info', destination: 'stdout', accessLog: true, format: 'json', ...over })

t.test('a reload applies level, format, accessLog and destination at once', async (t) => {
  const dir = tempDir('commy-logs-')
  t.teardown(() => removeTempDir(dir))
  const first = join(dir, 'a.log')
  const second = join(dir, 'b.log')
  const logs = createLogs(config({ destination: first }), { base: { node: 'n' } })
  const gossip = logs.logger.child({ component: 'gossip' })
  const observe = accessLog(logs.access!, () => 0, { node: 'n', settings: logs.accessSettings })
  gossip.debug('hidden at info')
  gossip.info('json line')
  observe(record)

  logs.reconfigure!(config({ destination: second, level: 'debug', format: 'text', accessLog: true }))
  gossip.debug('text line at debug')
  observe(record)
  logs.reconfigure!(config({ destination: second, level: 'debug', format: 'text', accessLog: false }))
  observe(record)
  await logs.close()
  await logs.close()

  const a = readFileSync(first, 'utf8').trim().split('\n')
  t.equal(a.length, 2, 'before the reload: one component line and one access line, JSON')
  t.match(JSON.parse(a[0]!), { msg: 'json line', component: 'gossip', node: 'n' })
  t.match(JSON.parse(a[1]!), { log: 'access', node: 'n' })
  const b = readFileSync(second, 'utf8').trim().split('\n')
  t.equal(b.length, 2, 'after: text, at debug, and nothing once the access log is off')
  t.match(b[0]!, /^\S+Z DEBUG gossip text line at debug node=n$/)
  t.match(b[1]!, /^\S+Z INFO {2}access GET \/p 200 1ms node=n listener=l /)
})

t.test('a reload that leaves log.level alone keeps what PUT /v1/log-level set', async (t) => {
  const logs = createLogs(config({ destination: 'stderr', level: 'silent' }))
  const levels = logs.levels!
  const admin = logs.logger.child({ component: 'admin' })
  levels.setDefault('error')
  levels.setComponent('admin', 'fatal')
  logs.reconfigure!(config({ destination: 'stderr', level: 'silent', format: 'text' }))
  t.equal(levels.view().level, 'error', 'the level set at run time stays')
  t.equal(admin.level, 'fatal')
  logs.reconfigure!(config({ destination: 'stderr', level: 'warn' }))
  t.equal(levels.view().level, 'warn', 'a changed log.level applies')
  t.equal(admin.level, 'fatal', 'component overrides stay')
  await logs.close()
})
