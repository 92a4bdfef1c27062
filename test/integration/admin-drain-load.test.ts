/**
 * Drain under load: concurrent keep-alive traffic through a running commy (node B, gossiping
 * with a peer A and announcing its app), then POST /v1/drain on B. The clients behave like a
 * well-run app or load balancer: they watch /readyz and stop sending new requests once it fails.
 * Expected order: /readyz fails at once; B leaves the gossip cluster (A's member list shows it
 * `left`, and A drops the endpoint B announced); for `limits.drainGrace` the listener still
 * accepts and every response carries `Connection: close`; then it stops accepting, the requests
 * in flight finish, and the listener is closed. Zero failed requests.
 */
import t from 'tap'
import { Pool } from 'undici'
import { parseProm, total } from '../helpers/prom-parse.js'
import { adminCall, startRuntime, sleep } from '../helpers/admin-runtime.js'
import { waitFor } from '../helpers/sidecar.js'
import { request, startUpstream } from '../helpers/upstream.js'

const CONCURRENCY = 16
const GRACE_MS = 800
/** The client's readiness polling period: requests keep coming for up to this long into the drain. */
const PROBE_MS = 250
/** How long after seeing /readyz fail the client still sends. */
const REACT_MS = 200

interface Sample {
  readonly start: number
  end: number
  status: number
  connection: string | undefined
  error: string | undefined
}

const gossip = (seeds: string[]) => `gossip: { listen: "127.0.0.1:0", seeds: ${JSON.stringify(seeds)}, cluster: drain-test, profile: local }`

t.test('drain under load: readyz fails first, peers see the node leave, Connection: close, in-flight requests finish, zero failures', async (t) => {
  const up = await startUpstream('slow', (req, res) => {
    req.resume()
    setTimeout(() => res.writeHead(200).end('ok'), 30)
  })
  const app = await startUpstream('app-b')
  t.teardown(() => Promise.all([up.close(), app.close()]))
  const peer = await startRuntime(`
node: { name: node-a }
admin: { listen: "127.0.0.1:0" }
log: { level: warn, accessLog: false }
limits: { drainGrace: 0s }
listeners: [{ name: outbound, listen: "127.0.0.1:0", routes: [{ match: { pathPrefix: / }, service: app }] }]
services: { app: { strategy: round-robin } }
${gossip([])}
`)
  t.teardown(() => peer.stop())
  const seed = peer.runtime.gossip!.address()!
  const rt = await startRuntime(`
node: { name: node-b }
admin: { listen: "127.0.0.1:0" }
log: { level: warn, accessLog: false }
limits: { drainGrace: ${GRACE_MS}ms, drainTimeout: 5s }
listeners:
  - name: outbound
    listen: 127.0.0.1:0
    routes: [{ match: { pathPrefix: / }, service: slow }]
services:
  slow: { endpoints: [{ address: "${up.address}" }] }
local: { services: [{ name: app, address: "${app.address}" }] }
${gossip([`${seed.host}:${seed.port}`])}
`)
  t.teardown(() => rt.stop())
  const admin = rt.admin()
  const peerMember = async (name: string) => (await adminCall(peer.admin(), '/v1/members')).body.members.find((m) => m.name === name)
  const bAtA = async () => (await peerMember('node-b'))?.state
  t.ok(await waitFor(() => rt.runtime.readiness().ready, 10_000), 'B joined the cluster: ready')
  const joined = Date.now() + 10_000
  while ((await bAtA()) !== 'alive' && Date.now() < joined) await sleep(50)
  t.match(await peerMember('node-b'), { state: 'alive', services: ['app'] }, "B is alive in A's member list, offering app")
  const appAtA = () => peer.runtime.sidecar.registry.service('app')!.snapshot.all.map((e) => e.address)
  t.ok(await waitFor(() => appAtA().includes(app.address), 5000), 'A routes app to the endpoint B announced')
  const port = rt.port()
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: CONCURRENCY })
  t.teardown(() => pool.destroy())

  const samples: Sample[] = []
  let stopped = false
  let notReadyAt = 0
  const worker = async () => {
    while (!stopped) {
      const s: Sample = { start: performance.now(), end: 0, status: 0, connection: undefined, error: undefined }
      samples.push(s)
      try {
        const r = await pool.request({ method: 'GET', path: '/work', headersTimeout: 10_000, bodyTimeout: 10_000 })
        s.status = r.statusCode
        s.connection = r.headers.connection as string | undefined
        await r.body.text()
      } catch (err) {
        s.error = `${(err as Error).name}: ${(err as Error).message}`
      }
      s.end = performance.now()
    }
  }
  // the client's readiness probe: stop sending once /readyz fails
  const probe = async () => {
    while (!stopped) {
      const r = await adminCall(admin, '/readyz')
      if (r.status === 503) {
        notReadyAt = performance.now()
        await sleep(REACT_MS) // like a load balancer taking the endpoint out: not at once
        stopped = true
        return r.body.reason
      }
      await sleep(PROBE_MS)
    }
    return 'stopped'
  }
  const workers = Array.from({ length: CONCURRENCY }, worker)
  const probing = probe()

  await sleep(1000)
  const drainAt = performance.now()
  const d = await adminCall(admin, '/v1/drain', { method: 'POST' })
  t.equal(d.status, 202)
  t.equal(await probing, 'draining', '/readyz turned 503 (draining)')
  t.ok(notReadyAt + REACT_MS - drainAt < GRACE_MS, `the client saw /readyz fail ${Math.round(notReadyAt - drainAt)} ms after the drain began, within the grace`)
  const waited = await adminCall(admin, '/v1/drain?wait=1', { method: 'POST' })
  const drainedAt = performance.now()
  t.same(waited.body, { draining: true, drained: true })
  await Promise.all(workers)

  const failed = samples.filter((s) => s.error !== undefined || s.status !== 200)
  t.same(failed.slice(0, 5), [], `zero failed requests (of ${samples.length})`)
  t.equal(failed.length, 0)
  t.ok(samples.length > 100, `load before the drain: ${samples.length} requests`)
  const spanning = samples.filter((s) => s.start < drainAt && s.end > drainAt)
  t.ok(spanning.length > 0, `${spanning.length} requests in flight across the drain start completed`)
  const during = samples.filter((s) => s.start > drainAt)
  t.ok(during.length > 0, `${during.length} requests were sent after the drain began`)
  t.ok(during.every((s) => s.connection === 'close'), `all ${during.length} requests sent during the drain got Connection: close`)
  t.ok(drainedAt - drainAt >= GRACE_MS - 50, 'the listener kept accepting for the grace period')
  t.equal(rt.runtime.sidecar.inFlight, 0)
  await t.rejects(request(port, { path: '/late', timeoutMs: 2000 }), 'the listener is closed once drained')
  t.equal((await adminCall(admin, '/healthz')).status, 200, 'admin still up for the probes')

  // the peer learned that B left (gossip leave during the drain) and no longer routes to B's app
  const left = Date.now() + 5000
  while ((await bAtA()) !== 'left' && Date.now() < left) await sleep(50)
  t.equal(await bAtA(), 'left', "B is `left` in A's member list")
  t.same(appAtA(), [], "A dropped the endpoint B announced")
  const fams = parseProm((await adminCall(peer.admin(), '/metrics')).text)
  t.equal(total(fams, 'commy_members', { state: 'left' }), 1)
  t.equal(total(fams, 'commy_members', { state: 'alive' }), 1)
  t.ok(total(fams, 'commy_gossip_messages_total', { direction: 'in' }) > 0, 'gossip messages counted')
  t.ok(total(fams, 'commy_gossip_bytes_total', { direction: 'out' }) > 0, 'gossip bytes counted')
})
