import t from 'tap'
import http from 'node:http'
import { runCli, startCli } from '../helpers/cli.js'

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
        let body = ''
        res.on('data', (d: Buffer) => (body += d.toString()))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
      })
      .on('error', reject)
  })
}

t.test('commy echo NAME --listen: one demo service (the app of the compose demo); SIGTERM exits 0', async (t) => {
  const cli = startCli(['echo', 'payments', '--listen', '127.0.0.1:0'])
  t.teardown(() => cli.kill())
  const port = Number((await cli.waitFor(/echo service payments listening on 127\.0\.0\.1:(\d+)/))[1])
  const health = await get(port, '/health')
  t.equal(health.status, 200)
  const r = await get(port, '/charge')
  t.equal(r.status, 200)
  t.equal((JSON.parse(r.body) as { service: string }).service, 'payments')
  cli.child.kill('SIGTERM')
  t.equal((await cli.exited).code, 0)
})

t.test('commy echo: usage errors exit 2', async (t) => {
  for (const args of [['echo'], ['echo', 'a', '--listen'], ['echo', 'a', '--listen', 'nope'], ['echo', 'a', '--port', '1'], ['echo', '--listen', '127.0.0.1:1']]) {
    const r = await runCli(args)
    t.equal(r.code, 2, args.join(' '))
    t.match(r.stderr, /usage: commy echo NAME/)
  }
})
