/**
 * Consul-style maintenance of a local service across two real commy processes (`npm run build`
 * first): B offers `echo` (its app beside it), A routes to it through gossip. POST
 * /v1/local/echo/drain on B: the flag rides in B's announcement, A stops sending to B's app within
 * a bound (and does not route to it in panic mode either: 503, no other endpoint), while a request
 * already in flight at B's app finishes. Undone through the endpoint id B announces
 * (`/v1/endpoints/{id}/undrain`, the other form): A sends to B's app again. Then the whole of B:
 * POST /v1/drain (B leaves) and POST /v1/undrain (B rejoins and announces echo again).
 */
import t from 'tap'
import { eventually, startApp, type MeshApp } from '../helpers/mesh.js'
import { MeshProc, startTraffic, type Traffic } from '../helpers/mesh-procs.js'
import { request } from '../helpers/upstream.js'

/** Gossip (local profile: gossip every 100 ms) reaches the one peer in well under this; generous for a shared 2-core machine. */
const BOUND_MS = 3000

interface EndpointJson {
  readonly id: string
  readonly state: string
  readonly reason: string
  readonly maintenance: boolean
}

let a: MeshProc | undefined
let b: MeshProc | undefined
let app: MeshApp | undefined
let traffic: Traffic | undefined

t.teardown(async () => {
  await traffic?.stop()
  app?.thaw()
  await Promise.all([a?.kill(), b?.kill()])
  await app?.close()
})

async function post(p: MeshProc, path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`http://127.0.0.1:${p.adminPort}${path}`, { method: 'POST', signal: AbortSignal.timeout(5000) })
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}

t.test("a local service's maintenance is gossiped: the peer stops sending, in-flight finishes, undrain brings it back", async (t) => {
  app = await startApp('b-echo')
  a = await MeshProc.start({ name: 'a' })
  b = await MeshProc.start({ name: 'b', seeds: [a.seed], local: [{ name: 'echo', address: app.address }] })
  const A = a
  const B = b
  const echoAtA = async () => (await A.admin<{ endpoints: EndpointJson[] }>('/v1/endpoints?service=echo')).endpoints
  await eventually(async () => (await echoAtA()).some((e) => e.state === 'healthy'), 10_000, "B's echo at A")
  const id = (await echoAtA())[0]!.id

  traffic = startTraffic(A.port, '/', 2, 20)
  await eventually(() => traffic!.replies.some((r) => r.app === 'b-echo'), 5000, 'traffic reaches B')

  // a request held at B's app across the maintenance
  app.freeze()
  const servedBefore = app.served
  const inFlight = request(A.port, { path: '/held', timeoutMs: 10_000 })

  const on = await post(B, '/v1/local/echo/drain')
  t.equal(on.status, 200)
  t.same(on.body, { target: 'local', id: 'echo', maintenance: true, changed: true, local: 'echo' })
  const seen = await eventually(async () => (await echoAtA()).every((e) => e.maintenance && e.state === 'draining'), BOUND_MS, 'A sees the maintenance')
  t.pass(`A saw the maintenance ${seen} ms after the drain`)
  t.match((await echoAtA())[0], { id, state: 'draining', maintenance: true, reason: 'maintenance (announced by node b)' })

  app.thaw()
  const held = await inFlight
  t.equal(held.status, 200, 'the request in flight at B finished')
  t.equal(held.headers['x-app'], 'b-echo')

  const quiet = Date.now()
  const servedAtQuiet = app.served
  await eventually(() => traffic!.replies.some((r) => r.t > quiet + 300 && r.status === 503), 5000, '503 once nothing is left')
  t.equal(app.served, servedAtQuiet, 'no request reached B after A saw the maintenance')
  t.ok(servedAtQuiet >= servedBefore + 1, 'the held request was served')
  const during = traffic.replies.filter((r) => r.t > quiet + 300)
  t.ok(during.length > 0 && during.every((r) => r.status === 503 && r.app !== 'b-echo'), `no endpoint left: ${during.length} answers, all 503 (never panic routing to the endpoint in maintenance)`)

  // undone through the endpoint id B announces (this node's own endpoint: its local service)
  const off = await post(B, `/v1/endpoints/${encodeURIComponent(id)}/undrain`)
  t.same(off.body, { target: 'endpoint', id, maintenance: false, changed: true, local: 'echo' })
  const undrainAt = Date.now()
  const back = await eventually(() => traffic!.replies.some((r) => r.t > undrainAt && r.app === 'b-echo'), BOUND_MS, 'A sends to B again')
  t.pass(`A sent to B again ${back} ms after the undrain`)
  t.match((await echoAtA())[0], { state: 'healthy', maintenance: false })
  const bMetrics = await (await fetch(`http://127.0.0.1:${B.adminPort}/metrics`)).text()
  t.match(bMetrics, /commy_admin_actions_total\{action="maintenance_on"\} 1/)
  t.match(bMetrics, /commy_admin_actions_total\{action="maintenance_off"\} 1/)
  t.ok(B.lines.some((l) => l.msg === 'admin: local echo maintenance on' && l.by === '127.0.0.1'), 'logged on B with who')

  // the whole sidecar: drain B (it leaves the cluster), then undrain (it rejoins, announces echo again)
  const stateAtA = async () => (await A.members()).find((m) => m.name === 'b')?.state
  const drained = await post(B, '/v1/drain?wait=1')
  t.same(drained.body, { draining: true, drained: true })
  await eventually(async () => (await stateAtA()) === 'left' && (await echoAtA()).length === 0, BOUND_MS, 'A sees B leave')
  t.pass('A holds B left and has no echo endpoint')
  const undrained = await post(B, '/v1/undrain')
  t.same(undrained.body, { draining: false, changed: true })
  const undrainedAt = Date.now()
  const rejoined = await eventually(async () => (await stateAtA()) === 'alive' && traffic!.replies.some((r) => r.t > undrainedAt && r.app === 'b-echo'), BOUND_MS, 'A routes to B again')
  t.pass(`A held B alive and sent to its app again ${rejoined} ms after the undrain`)
  t.equal((await fetch(`http://127.0.0.1:${B.adminPort}/readyz`)).status, 200, "B's /readyz is 200 again")
})
