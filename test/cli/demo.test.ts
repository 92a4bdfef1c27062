import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ROOT, startCli, tempFile } from '../helpers/cli.js'
import { closedPort, json, request, startUpstream } from '../helpers/upstream.js'

t.test('npm run demo (commy demo): starts, serves through a sidecar, stops cleanly on Ctrl-C', async (t) => {
  const cli = startCli(['demo'], { env: { COMMY_DEMO_PORTS: '0' } })
  t.teardown(() => cli.kill())
  const m = await cli.waitFor(/curl -s -H 'host: payments' http:\/\/127\.0\.0\.1:(\d+)(\/\S+)/)
  await cli.waitFor(/Ctrl-C/)
  const r = await request(Number(m[1]), { path: m[2], headers: { host: 'payments' } })
  t.equal(r.status, 200)
  t.equal(json(r).service, 'payments', 'the payments echo service answered')
  const byPath = await request(Number(m[1]), { method: 'POST', path: '/inventory/items', body: 'x' })
  t.equal(json(byPath).service, 'inventory', 'path-prefix route')
  const none = await request(Number(m[1]), { headers: { host: 'nowhere' } })
  t.equal(none.status, 404)
  await cli.waitFor(/ INFO {2}access GET .* service=payments /, 10_000)
  cli.child.kill('SIGINT')
  const exit = await cli.exited
  t.equal(exit.code, 0, 'exit 0')
})

/** sidecar.yaml with its listener on port 0 and the demo endpoints replaced. */
function repoConfig(ports: Record<string, number>): string {
  let text = readFileSync(join(ROOT, 'sidecar.yaml'), 'utf8').replace('listen: 127.0.0.1:15001', 'listen: 127.0.0.1:0').replace('listen: 127.0.0.1:15000', 'listen: 127.0.0.1:0')
  for (const [from, to] of Object.entries(ports)) text = text.replaceAll(`127.0.0.1:${from}`, `127.0.0.1:${to}`)
  return text
}

t.test('npm start (the repo sidecar.yaml): serves a request, stops cleanly', async (t) => {
  const payments = await startUpstream('payments')
  const dead = await closedPort()
  const cli = startCli(['--config', tempFile('sidecar.yaml', repoConfig({ 9101: dead, 9102: payments.port, 9103: dead }))])
  t.teardown(async () => {
    cli.kill()
    await payments.close()
  })
  const port = Number((await cli.waitFor(/"address":"127\.0\.0\.1:(\d+)","msg":"listening"/))[1])
  const ok = await request(port, { path: '/charge', headers: { host: 'payments' } })
  t.equal(ok.status, 200)
  t.equal(json(ok).upstream, 'payments')

  const started = Date.now()
  const down = await request(port, { path: '/users/1' })
  t.ok(Date.now() - started < 3000, 'a missing service answers quickly, no hang')
  t.equal(down.status, 502)
  t.equal(json(down).service, 'users', 'the error names the service')
  t.match(json(down).error, /users/)

  cli.child.kill('SIGTERM')
  t.equal((await cli.exited).code, 0)
})
