import t from 'tap'
import { Writable } from 'node:stream'
import pino from 'pino'
import { isLevel, LogLevels } from '../src/log-levels.js'

function capture() {
  const lines: Record<string, unknown>[] = []
  const stream = new Writable({
    write(chunk: Buffer, _e, cb) {
      for (const l of chunk.toString().split('\n')) if (l !== '') lines.push(JSON.parse(l) as Record<string, unknown>)
      cb()
    },
  })
  return { lines, logger: pino({ level: 'info' }, stream) }
}

const tick = () => new Promise((r) => setImmediate(r))

t.test('the default level and per-component overrides follow every component logger, made before or after', async (t) => {
  const { lines, logger } = capture()
  const root = logger.child({ node: 'a' })
  const levels = new LogLevels(root)
  const gossip = root.child({ component: 'gossip' })
  const health = root.child({ component: 'health' })
  const local = health.child({ checks: 'local' })
  t.same(levels.view(), { level: 'info', components: {}, known: ['gossip', 'health'] })
  t.ok(levels.knows('gossip'))
  t.notOk(levels.knows('nope'))

  gossip.debug('hidden')
  t.equal(levels.setComponent('gossip', 'debug'), 'info', 'returns the level it had')
  gossip.debug('shown')
  health.debug('still hidden')
  const later = root.child({ component: 'gossip' })
  later.debug('a later gossip logger too')
  t.equal(levels.setDefault('warn'), 'info')
  health.info('hidden at warn')
  local.warn('grandchild follows')
  gossip.debug('override kept')
  t.equal(levels.setComponent('gossip', undefined), 'debug')
  gossip.info('hidden again: back to the default (warn)')
  t.equal(levels.levelOf('gossip'), 'warn')
  t.same(levels.view().components, {})
  root.info('hidden: the root follows the default')
  await tick()
  t.same(
    lines.map((l) => l.msg),
    ['shown', 'a later gossip logger too', 'grandchild follows', 'override kept'],
  )
})

t.test('levels', async (t) => {
  t.ok(isLevel('trace'))
  t.notOk(isLevel('verbose'))
  t.notOk(isLevel(1))
})
