/**
 * Readiness that cannot deadlock, with real commy processes and the probe listener as the kubelet
 * sees it: a first node whose seed is only itself is ready at once; a second node joins through
 * it; a node whose seed never answers answers 503 on /readyz until gossip.joinTimeout, then 200
 * as a cluster of one (logged). (Joining later, after serving alone: test/membership/join-state.test.ts,
 * seed-dns.test.ts.)
 */
import { createServer } from 'node:net'
import t, { type Test } from 'tap'
import { startCli, tempFile, type RunningCli } from '../helpers/cli.js'
import { until } from '../helpers/runtime.js'

function config(name: string, gossipPort: number, seeds: readonly string[], joinTimeout = '30s'): string {
  return `node: { name: ${name} }
log: { level: info, accessLog: false }
admin: { listen: 127.0.0.1:0 }
probes: { listen: 127.0.0.1:0 }
limits: { drainGrace: 50ms, drainTimeout: 1s }
listeners:
  - name: outbound
    listen: 127.0.0.1:0
    routes: [{ match: {}, service: api }]
services:
  api:
    endpoints: [{ address: 127.0.0.1:9 }]
gossip:
  listen: 127.0.0.1:${gossipPort}
  profile: local
  seeds: [${seeds.map((s) => `"${s}"`).join(', ')}]
  joinTimeout: ${joinTimeout}
`
}

/** A port free on 127.0.0.1 for TCP now (gossip binds UDP and TCP on it). */
async function freePort(): Promise<number> {
  const s = createServer()
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))
  const port = (s.address() as { port: number }).port
  await new Promise((resolve) => s.close(resolve))
  return port
}

async function start(t: Test, yaml: string): Promise<{ cli: RunningCli; probes: string }> {
  const cli = startCli(['--config', tempFile('sidecar.yaml', yaml)])
  t.teardown(async () => {
    cli.kill() // draining is test/cli/signals.test.ts's subject
    await cli.exited
  })
  const m = await cli.waitFor(/"address":"127\.0\.0\.1:(\d+)"[^\n]*"msg":"probe listener listening"/, 30_000)
  return { cli, probes: `http://127.0.0.1:${m[1]}` }
}

async function readyz(base: string): Promise<{ status: number; body: { ready?: boolean; reason?: string } }> {
  try {
    const res = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(3000) })
    return { status: res.status, body: (await res.json()) as { ready?: boolean; reason?: string } }
  } catch {
    return { status: 0, body: {} }
  }
}

async function readyWithin(base: string, ms: number): Promise<boolean> {
  const end = Date.now() + ms
  while (Date.now() < end) {
    if ((await readyz(base)).status === 200) return true
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return false
}

t.test('a lone first node is ready at once; a second joins it; a node whose seed is silent is ready after joinTimeout', async (t) => {
  const [pa, pb, pc, silent] = [await freePort(), await freePort(), await freePort(), await freePort()]
  // a and c start side by side (c's seed: nothing listens there)
  const [a, c] = await Promise.all([start(t, config('a', pa, [`127.0.0.1:${pa}`])), start(t, config('c', pc, [`127.0.0.1:${silent}`], '4s'))])
  const early = await readyz(c.probes)
  t.equal(early.status, 503, 'c: not ready while its seed may still answer')
  t.ok(await readyWithin(a.probes, 15_000), 'a: seeds only itself: ready (a cluster of one) as soon as it started')
  t.ok(await until(() => /"to":"alone"[^\n]*"msg":"serving as a cluster of one"/.test(a.cli.stdout()), 5000), 'logged')

  const b = await start(t, config('b', pb, [`127.0.0.1:${pa}`]))
  t.ok(await readyWithin(b.probes, 15_000), 'b: joins the first node and is ready')
  t.ok(await until(() => /"to":"joined"[^\n]*"msg":"joined the cluster"/.test(b.cli.stdout()), 5000), 'logged')

  t.ok(await readyWithin(c.probes, 30_000), 'c: ready once gossip.joinTimeout passed')
  const timeout = /"time":(\d+)[^\n]*no seed answered within gossip\.joinTimeout[^\n]*"msg":"serving as a cluster of one; still trying/
  t.ok(await until(() => timeout.test(c.cli.stdout()), 5000), 'the timeout is logged')
  const gossipAt = Number(/"time":(\d+)[^\n]*"msg":"gossip started"/.exec(c.cli.stdout())?.[1])
  const aloneAt = Number(timeout.exec(c.cli.stdout())?.[1])
  t.ok(aloneAt - gossipAt >= 3990, `a cluster of one ${aloneAt - gossipAt} ms after gossip started (joinTimeout 4 s)`)
})
