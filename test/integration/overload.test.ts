/**
 * Connections and memory under overload (issue 10 item 6): the connection cap refuses and counts,
 * running out of descriptors is logged once per episode with the admin listener still answering
 * and routing recovering on its own, and an access log whose sink stops reading drops and counts
 * lines instead of holding them. The two last ones run the real CLI as a child process (with a low
 * descriptor limit; with stdout a pipe nobody reads).
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import http from 'node:http'
import net from 'node:net'
import { readFileSync } from 'node:fs'
import { startRuntime, sleep, until } from '../helpers/runtime.js'
import { assertBuilt, MAIN, ROOT, startCli, tempFile } from '../helpers/cli.js'
import { parseProm, samples } from '../helpers/prom-parse.js'

/** The value of one sample of /metrics text, or undefined when there is no such series. */
const metric = (text: string, name: string, labels: Record<string, string> = {}) => samples(parseProm(text), name, labels)[0]?.value

function get(port: number, path: string, host = 'x', timeoutMs = 5000): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path, headers: { host }, agent: false }, (res) => {
      let body = ''
      res.on('data', (d: Buffer) => (body += d.toString()))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.setTimeout(timeoutMs, () => req.destroy(new Error('timed out')))
    req.on('error', (err) => resolve({ status: 0, body: err.message }))
  })
}

/** A TCP client connection; resolves once connected, tells when the server closed it. */
function connect(port: number): Promise<{ socket: net.Socket; closed: () => boolean }> {
  return new Promise((resolve) => {
    let closed = false
    const socket = net.connect(port, '127.0.0.1', () => resolve({ socket, closed: () => closed }))
    socket.on('error', () => {})
    socket.on('close', () => (closed = true))
  })
}

t.test('limits.maxConnections: connections past the cap are closed at once and counted by listener and reason', async (t) => {
  const up = http.createServer((_req, res) => res.end('ok')).listen(0, '127.0.0.1')
  await new Promise((r) => up.once('listening', r))
  t.teardown(() => void up.close())
  const rt = await startRuntime({
    limits: { maxConnections: 5 },
    listeners: [{ name: 'outbound', listen: '127.0.0.1:0', routes: [{ match: {}, service: 's' }] }],
    services: { s: { endpoints: [{ address: `127.0.0.1:${(up.address() as net.AddressInfo).port}` }] } },
  })
  t.teardown(() => rt.stop())
  const admin = rt.runtime.admin.url()!
  const before = await (await fetch(`${admin}/metrics`)).text()
  t.equal(metric(before, 'commy_connections_refused_total', { listener: 'outbound', reason: 'limit' }), 0, 'initialised at 0')
  t.equal(metric(before, 'commy_connections_refused_total', { listener: 'outbound', reason: 'descriptors' }), 0)
  t.match(rt.lines.find((l) => l.msg === 'connection limit'), { listener: 'outbound', maxConnections: 5, configured: 5 }, 'the effective cap is logged at start')

  const conns = []
  for (let i = 0; i < 5; i++) conns.push(await connect(rt.port))
  await sleep(100) // the server has accepted the five (absence of a close checked below)
  const extra = await Promise.all([connect(rt.port), connect(rt.port), connect(rt.port)])
  t.ok(await until(() => extra.every((c) => c.closed()), 3000), 'the three past the cap are closed by the server')
  t.ok(conns.every((c) => !c.closed()), 'the five under the cap stay open')
  const after = await (await fetch(`${admin}/metrics`)).text()
  t.equal(metric(after, 'commy_connections_refused_total', { listener: 'outbound', reason: 'limit' }), 3)

  for (const c of conns) c.socket.destroy()
  await sleep(200) // let the server see the closes (nothing to wait on)
  t.equal((await get(rt.port, '/')).status, 200, 'with connections free again, a new one is served')
})

t.test('out of descriptors: logged once per episode, not an endpoint failure, /healthz answers, routing recovers', async (t) => {
  assertBuilt()
  // the upstream holds every request until released (it runs in this process: its descriptors are not the child's)
  const held: http.ServerResponse[] = []
  let release = false
  const up = http.createServer((req, res) => {
    if (req.url === '/health' || release) return res.end('ok')
    held.push(res)
  })
  up.keepAliveTimeout = 60_000
  up.listen(0, '127.0.0.1')
  await new Promise((r) => up.once('listening', r))
  t.teardown(() => {
    up.closeAllConnections()
    up.close()
  })
  const upPort = (up.address() as net.AddressInfo).port
  const file = tempFile(
    'sidecar.yaml',
    JSON.stringify({
      node: { name: 'fd' },
      admin: { listen: '127.0.0.1:0' },
      log: { level: 'info', destination: 'stdout', accessLog: false },
      listeners: [{ name: 'outbound', listen: '127.0.0.1:0', routes: [{ match: {}, service: 's' }] }],
      services: {
        s: {
          endpoints: [{ address: `127.0.0.1:${upPort}` }],
          upstream: { connections: 200 },
          outlierDetection: { enabled: true, consecutiveErrors: 3 },
        },
      },
    }),
  )
  // 256 descriptors: the inbound cap is 128; 128 held requests + their upstream connections + the process's own run out
  const cli = startCliLimited(file, 256)
  t.teardown(() => cli.kill())
  const port = Number((await cli.waitFor(/"listener":"outbound","address":"127\.0\.0\.1:(\d+)","msg":"listening"/))[1])
  const adminPort = Number((await cli.waitFor(/"address":"http:\/\/127\.0\.0\.1:(\d+)"[^\n]*"msg":"admin server listening"/))[1])
  t.match(cli.stdout(), /"maxConnections":128,"configured":10000,"nofile":256/, 'effective cap: half of 256')

  // 160 clients, each sends a request that the upstream holds
  const clients: net.Socket[] = []
  const answers: string[] = []
  for (let i = 0; i < 160; i++) {
    const s = net.connect(port, '127.0.0.1', () => s.write(`GET /held/${i} HTTP/1.1\r\nhost: x\r\n\r\n`))
    s.on('data', (d: Buffer) => answers.push(d.toString()))
    s.on('error', () => {})
    clients.push(s)
  }
  await cli.waitFor(/out of file descriptors/, 15_000)
  const exhaustedAnswers = await until(() => answers.some((a) => a.includes('COMMY_ERR_LOCAL_RESOURCES')), 5000)
  t.ok(exhaustedAnswers, 'a request whose upstream connect failed with EMFILE got 503 COMMY_ERR_LOCAL_RESOURCES')
  t.notOk(answers.some((a) => /COMMY_ERR_UPSTREAM_(RESET|CONNECT)/.test(a)), 'never reported as an upstream reset or connect failure')
  const local = answers.filter((a) => a.includes('COMMY_ERR_LOCAL_RESOURCES'))
  t.ok(local.every((a) => /\r\nconnection: close\r\n/i.test(a)), 'those answers close the connection: the descriptor goes back')

  // the admin listener answers (at once, or within a few seconds once idle clients were shed)
  let healthz = 0
  const deadline = Date.now() + 10_000
  while (Date.now() < deadline && healthz !== 200) healthz = (await get(adminPort, '/healthz', '127.0.0.1', 1000)).status
  t.equal(healthz, 200, '/healthz answers during the episode')

  // the clients leave and the upstream answers again: routing recovers on its own
  release = true
  for (const r of held.splice(0)) r.end('late')
  for (const s of clients) s.destroy()
  let status = 0
  const recovery = Date.now() + 10_000
  while (Date.now() < recovery && status !== 200) {
    status = (await get(port, '/after', 'x', 2000)).status
    if (status !== 200) await sleep(200)
  }
  t.equal(status, 200, 'routing recovered')
  await cli.waitFor(/"msg":"file descriptors available again"/, 15_000)
  const lines = cli.stdout().split('\n').filter((l) => l.includes('"component":"descriptors"'))
  t.equal(lines.filter((l) => l.includes('out of file descriptors')).length, 1, 'one warning for the whole episode')
  t.match(lines.find((l) => l.includes('available again')), /"count":\d+/, 'the end says how many times it happened')

  const endpoints = (await (await fetch(`http://127.0.0.1:${adminPort}/v1/endpoints?service=s`)).json()) as { endpoints: { state: string }[] }
  t.equal(endpoints.endpoints[0]?.state, 'healthy', 'the endpoint was not ejected for our own shortage')
  const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text()
  t.ok((metric(text, 'commy_descriptor_exhaustion_total', { op: 'connect' }) ?? 0) > 0, 'counted in commy_descriptor_exhaustion_total')
  t.equal(metric(text, 'commy_ejections_total', { service: 's', endpoint: `127.0.0.1:${upPort}` }) ?? 0, 0, 'no ejection')
})

t.test('an access log whose sink stops reading drops lines and counts them; memory stays bounded', async (t) => {
  assertBuilt()
  const up = http.createServer((_req, res) => res.end('ok')).listen(0, '127.0.0.1')
  await new Promise((r) => up.once('listening', r))
  t.teardown(() => void up.close())
  const file = tempFile(
    'sidecar.yaml',
    JSON.stringify({
      admin: { listen: '127.0.0.1:0' },
      log: { level: 'info', destination: 'stdout', accessLog: true },
      listeners: [{ name: 'outbound', listen: '127.0.0.1:0', routes: [{ match: {}, service: 's' }] }],
      services: { s: { endpoints: [{ address: `127.0.0.1:${(up.address() as net.AddressInfo).port}` }] } },
    }),
  )
  const child = spawn(process.execPath, [MAIN, '--config', file], { cwd: ROOT, env: { ...process.env, NODE_OPTIONS: '' }, stdio: ['ignore', 'pipe', 'inherit'] })
  t.teardown(() => void child.kill('SIGKILL'))
  let out = ''
  const onData = (d: Buffer) => (out += d.toString())
  child.stdout.on('data', onData)
  t.ok(await until(() => /"listener":"outbound","address"/.test(out) && /admin server listening/.test(out), 10_000), 'started')
  const port = Number(/"listener":"outbound","address":"127\.0\.0\.1:(\d+)"/.exec(out)![1])
  const adminPort = Number(/"address":"http:\/\/127\.0\.0\.1:(\d+)"/.exec(out)![1])
  // the log shipper stops reading: the pipe fills, then commy's buffer
  child.stdout.off('data', onData)
  child.stdout.pause()
  const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))![1]) * 1024
  const rssBefore = rss()

  // ~8.5 MB of access lines (1,200 requests with 7 KB paths): twice the 4 Mi-character cap
  const agent = new http.Agent({ keepAlive: true, maxSockets: 20 })
  t.teardown(() => agent.destroy())
  const path = `/${'p'.repeat(7000)}`
  const one = () =>
    new Promise<number>((resolve) => {
      http
        .get({ host: '127.0.0.1', port, path, agent }, (res) => {
          res.resume()
          res.on('end', () => resolve(res.statusCode ?? 0))
        })
        .on('error', () => resolve(0))
    })
  let ok = 0
  for (let i = 0; i < 60; i++) ok += (await Promise.all(Array.from({ length: 20 }, one))).filter((s) => s === 200).length
  t.equal(ok, 1200, 'every request answered while the log sink is stuck')
  const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text()
  const dropped = metric(text, 'commy_access_log_dropped_total') ?? 0
  t.ok(dropped >= 300, `lines dropped and counted (${dropped})`)
  const grew = (rss() - rssBefore) / 2 ** 20
  t.ok(grew < 60, `RSS grew ${grew.toFixed(1)} MB for 8.5 MB of unwritable lines (bounded by the cap, not by the lines)`)
})

/** The CLI with a low soft and hard descriptor limit (prlimit execs node: the pid is node's). */
function startCliLimited(file: string, nofile: number) {
  return startCli(['--config', file], { env: { NODE_OPTIONS: '' }, prefix: ['prlimit', `--nofile=${nofile}`] })
}
