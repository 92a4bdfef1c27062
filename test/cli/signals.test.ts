import t from 'tap'
import http from 'node:http'
import { writeFileSync } from 'node:fs'
import { startCli, tempFile } from '../helpers/cli.js'
import { startUpstream } from '../helpers/upstream.js'
import { waitFor } from '../helpers/sidecar.js'

function config(upstream: string, drainTimeout = '10s'): string {
  return `log: { level: info, accessLog: false }
admin: { listen: 127.0.0.1:0 }
limits: { drainTimeout: ${drainTimeout} }
listeners:
  - name: outbound
    listen: 127.0.0.1:0
    routes:
      - match: {}
        service: slow
services:
  slow:
    endpoints: [{ address: ${upstream} }]
`
}

function get(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode ?? 0))
    })
    req.on('error', reject)
  })
}

t.test('SIGTERM with 50 requests in flight: all complete with 200, then exit 0', async (t) => {
  const up = await startUpstream('slow', (req, res) => {
    req.resume()
    setTimeout(() => res.end('done'), 500)
  })
  const cli = startCli(['--config', tempFile('sidecar.yaml', config(up.address))])
  t.teardown(async () => {
    cli.kill()
    await up.close()
  })
  const m = await cli.waitFor(/"address":"127\.0\.0\.1:(\d+)","msg":"listening"/)
  const port = Number(m[1])
  const replies = Array.from({ length: 50 }, () => get(port).catch((e: Error) => e))
  t.ok(await waitFor(() => up.seen.length === 50, 5000), 'all 50 reached the upstream')
  cli.child.kill('SIGTERM')
  const statuses = await Promise.all(replies)
  t.same(statuses.filter((s) => s !== 200), [], 'every request completed with 200')
  const exit = await cli.exited
  t.equal(exit.code, 0, 'exit 0 after draining')
  t.match(cli.stdout(), /"msg":"drained"/)
  await t.rejects(get(port), 'no longer accepting')
})

t.test('a second signal exits at once', async (t) => {
  const up = await startUpstream('stuck', (req) => req.resume())
  const cli = startCli(['--config', tempFile('sidecar.yaml', config(up.address, '30s'))])
  t.teardown(async () => {
    cli.kill()
    await up.close()
  })
  const m = await cli.waitFor(/"address":"127\.0\.0\.1:(\d+)","msg":"listening"/)
  const pending = get(Number(m[1])).catch(() => 0)
  t.ok(await waitFor(() => up.seen.length === 1), 'request in flight')
  cli.child.kill('SIGTERM')
  await cli.waitFor(/"msg":"draining"/)
  const started = Date.now()
  cli.child.kill('SIGINT')
  const exit = await cli.exited
  t.ok(Date.now() - started < 2000, 'exited without waiting for the drain timeout')
  t.equal(exit.code, 1)
  await pending
})

t.test('SIGHUP reloads the config file; a broken file changes nothing', async (t) => {
  const a = await startUpstream('a')
  const b = await startUpstream('b')
  const file = tempFile('sidecar.yaml', config(a.address))
  const cli = startCli(['--config', file])
  t.teardown(async () => {
    cli.kill()
    await a.close()
    await b.close()
  })
  const port = Number((await cli.waitFor(/"address":"127\.0\.0\.1:(\d+)","msg":"listening"/))[1])
  const served = async () => {
    const before = [a.seen.length, b.seen.length]
    await get(port)
    return a.seen.length > before[0]! ? 'a' : 'b'
  }
  t.equal(await served(), 'a')
  writeFileSync(file, config(b.address))
  cli.child.kill('SIGHUP')
  await cli.waitFor(/"msg":"config reloaded"/)
  t.equal(await served(), 'b', 'the new endpoint serves')
  writeFileSync(file, 'listeners: [')
  cli.child.kill('SIGHUP')
  await cli.waitFor(/"msg":"config reload refused"/)
  t.equal(await served(), 'b', 'still the last good config')
  cli.child.kill('SIGTERM')
  t.equal((await cli.exited).code, 0)
})
