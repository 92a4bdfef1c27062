/**
 * What `docker run commy` runs, without Docker: the Dockerfile's ENTRYPOINT + CMD with node on the
 * built tree and the embedded default config (its ports moved to free loopback ones, so parallel
 * tests never collide). It serves, the HEALTHCHECK script passes against it (and fails against
 * nothing), and SIGTERM — what `docker stop` sends to PID 1 — drains and exits 0.
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import http from 'node:http'
import net from 'node:net'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ROOT, startCli, tempFile } from '../helpers/cli.js'
import { execForm, ops, readDockerfile } from '../helpers/docker-files.js'

const df = readDockerfile(join(ROOT, 'deploy/docker/Dockerfile'))
const final = df.stages.at(-1)!
const entry = execForm(ops(final, 'ENTRYPOINT').at(-1)!.args)
const cmd = execForm(ops(final, 'CMD').at(-1)!.args)
const hc = ops(final, 'HEALTHCHECK').at(-1)!.args
const probeUrl = new URL(execForm(hc.slice(hc.indexOf('CMD') + 3).trim())[2]!)
const HEALTHCHECK = join(ROOT, 'deploy/docker/healthcheck.mjs')

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port
      s.close(() => resolve(port))
    })
    s.on('error', reject)
  })
}

function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (res) => {
        let body = ''
        res.on('data', (d: Buffer) => (body += d.toString()))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
      })
      .on('error', reject)
  })
}

/** Runs the HEALTHCHECK command's script; resolves with its exit code. */
function healthcheck(url: string): Promise<number | null> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [HEALTHCHECK, url], { stdio: 'ignore' })
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve(code)
    })
  })
}

const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => {
      s.destroy()
      resolve(true)
    })
    s.on('error', () => resolve(false))
  })

t.test('docker run commy: the entrypoint serves the embedded config, passes its HEALTHCHECK, drains on SIGTERM', async (t) => {
  t.same(entry.slice(0, 2), ['node', '/app/dist/src/main.js'], 'the built main (test/deploy/docker.test.ts checks the COPY)')
  const configIndex = cmd.indexOf('--config') + 1
  const probePort = await freePort()
  const text = readFileSync(join(ROOT, 'deploy/docker/sidecar.yaml'), 'utf8')
    .replace('127.0.0.1:15000', '127.0.0.1:0')
    .replace('127.0.0.1:15001', '127.0.0.1:0')
    .replace(`0.0.0.0:${probeUrl.port}`, `127.0.0.1:${probePort}`)
  t.match(text, new RegExp(`127\\.0\\.0\\.1:${probePort}`), 'the probe listener moved to a free loopback port')
  const args = cmd.map((a, i) => (i === configIndex ? tempFile('sidecar.yaml', text) : a))
  const cli = startCli(args)
  t.teardown(() => cli.kill())
  await cli.waitFor(/"msg":"sidecar started"/)
  const admin = (await cli.waitFor(/"address":"(http:\/\/127\.0\.0\.1:\d+)"[^\n]*admin server listening/))[1]!
  const outbound = (await cli.waitFor(/"listener":"outbound","address":"127\.0\.0\.1:(\d+)"/))[1]!

  const r = await get(`http://127.0.0.1:${outbound}/anything`)
  t.equal(r.status, 404, 'no routes yet: a quick 404')
  t.match(r.body, /COMMY_ERR/, 'with a commy error code')

  t.equal(await healthcheck(`${admin}/healthz`), 0, 'the script passes on a 200')
  t.equal(await healthcheck(`http://127.0.0.1:${await freePort()}/healthz`), 1, 'and fails when nothing answers')
  if (await listening(probePort)) {
    t.equal(await healthcheck(`http://127.0.0.1:${probePort}${probeUrl.pathname}`), 0, 'the HEALTHCHECK URL, on the probe listener')
  } else t.pass('the HEALTHCHECK URL, on the probe listener', { skip: 'the probe listener (probes.listen) is not built on this branch' })

  const started = Date.now()
  cli.child.kill('SIGTERM')
  const exit = await cli.exited
  t.equal(exit.code, 0, 'SIGTERM to PID 1 drains and exits 0')
  t.match(cli.stdout(), /"msg":"drained"/)
  t.ok(Date.now() - started < 10_000, `within docker stop's 10 s (${Date.now() - started} ms)`)
})
