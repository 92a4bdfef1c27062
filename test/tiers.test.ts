/**
 * The unit tier's guard (test/setup/no-sockets.mjs): in a unit test, opening a socket or starting
 * a process throws at once, naming the way out. This file is itself a unit test, so it sees the
 * guard exactly as a misfiled test would.
 */
import t from 'tap'
import childProcess from 'node:child_process'
import dgram from 'node:dgram'
import http from 'node:http'
import net from 'node:net'

const refused = /^unit tests open no socket: move this test to the integration tier \(.+ called in test\/tiers\.test\.ts; list the file in test\/tiers\.mjs\)$/

t.test('listening, connecting and spawning throw in a unit test', async (t) => {
  t.throws(() => net.createServer().listen(0, '127.0.0.1'), refused, 'net listen')
  t.throws(() => http.createServer().listen(0, '127.0.0.1'), refused, 'http listen')
  t.throws(() => net.connect(1, '127.0.0.1'), refused, 'net.connect')
  t.throws(() => net.createConnection(1, '127.0.0.1'), refused, 'net.createConnection')
  t.throws(() => new net.Socket().connect(1, '127.0.0.1'), refused, 'Socket#connect')
  t.throws(() => http.get('http://127.0.0.1:1/').on('error', () => {}), refused, 'an HTTP client request')
  t.throws(() => dgram.createSocket('udp4'), refused, 'dgram.createSocket')
  for (const fn of ['spawn', 'spawnSync', 'fork', 'exec', 'execSync', 'execFile', 'execFileSync'] as const) {
    t.throws(() => (childProcess[fn] as (...args: unknown[]) => unknown)(process.execPath, ['-e', '0']), refused, `child_process.${fn}`)
  }
})

t.test('fetch fails too, with the guard as the cause', async (t) => {
  const err = await fetch('http://127.0.0.1:1234/').then(
    () => undefined,
    (e: unknown) => e as Error & { cause?: Error },
  )
  t.match(err?.cause?.message, refused)
})
