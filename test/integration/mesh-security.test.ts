/**
 * Issue #11's acceptance, end to end, on real TLS between real commy processes (gossip `local`
 * profile on 127.0.0.1). The mesh CA, the next CA and each node's certificate are made by the built
 * CLI (`commy ca create`, `commy cert create`); an attacker's CA, an expired leaf and the
 * rotation's leaves by src/tls/pki.ts in-process (the code behind the CLI: a CLI run costs a
 * second of CPU).
 *
 * One cluster of four sidecars, each beside one app (an HTTP server in this process that answers
 * with the headers it got):
 *
 *   payments ─┐                     ┌─> relay (test-owned TCP relay, records every byte) ─> users' inbound ─> users app
 *   web ──────┴─ outbound: `users` ─┤
 *                                   └─> impostor's inbound ─> impostor app (never reached)
 *
 * - users offers `users` (allow: [payments]); its inbound is announced at the relay's address, so
 *   everything the other sidecars send to users crosses the relay: that is the capture.
 * - payments and web route every request to `users`.
 * - the impostor announces `users` too but holds web's certificate.
 *
 * Then, in the same cluster, the leaf certificates of payments and users and then the mesh CA are
 * rotated on disk (file watching) under constant traffic (the 20 s version is bench/mtls-rotation.ts).
 */
import { randomBytes, X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import http from 'node:http'
import t from 'tap'
import { eventually } from '../helpers/mesh.js'
import { MeshProc } from '../helpers/mesh-procs.js'
import { cliCa, cliCert, nodeTlsDir, replaceFile, replaceLeaf, type CaDir, type NodeTlsFiles } from '../helpers/cli-pki.js'
import { makeCa, makeLeaf, type Pem } from '../helpers/pki.js'
import { plaintextIn, startRelay, type TcpRelay } from '../helpers/tcp-relay.js'
import { isHttpAnswer, plainAttempt, tlsAttempt } from '../helpers/tls-probe.js'
import { closedPort, json, request, startUpstream, type Handler, type Upstream } from '../helpers/upstream.js'

const CLUSTER = 'mesh-test'
const KEY = randomBytes(32).toString('base64')
const ROUTES = [{ name: 'users', match: { pathPrefix: '/' }, service: 'users' }]
const SERVICES = { users: { strategy: 'round-robin' } }
/** The log line of a node that swapped in changed TLS files (src/tls/store.ts). */
const ROTATED = 'tls: certificates rotated'

/** Answers with the headers it received. */
const echoHeaders: Handler = (req, res, up) => {
  req.resume()
  req.on('end', () => res.writeHead(200, { 'content-type': 'application/json', 'x-app': up.name }).end(JSON.stringify({ app: up.name, headers: req.headers })))
}

let ca: CaDir
let newCa: CaDir
const certs = new Map<string, Pem>()
const files = new Map<string, NodeTlsFiles>()
const apps = new Map<string, Upstream>()
const procs = new Map<string, MeshProc>()
const inboundPorts = new Map<string, number>()
let relay: TcpRelay
let stopTraffic: (() => Promise<void>) | undefined
const p = (n: string) => procs.get(n)!
const app = (n: string) => apps.get(n)!

t.teardown(async () => {
  await stopTraffic?.()
  await Promise.all([...procs.values()].map((x) => x.kill()))
  await Promise.all([...apps.values()].map((a) => a.close()))
  await relay?.close()
})

/** `fn` over `items`, at most `n` at once (CLI runs are processes: do not start a dozen at once on 2 cores). */
async function limited<T, R>(items: readonly T[], n: number, fn: (x: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length)
  let next = 0
  await Promise.all(Array.from({ length: n }, async () => {
    while (next < items.length) {
      const i = next++
      out[i] = await fn(items[i]!)
    }
  }))
  return out
}

interface NodeSpec {
  readonly name: string
  /** Whose certificate the node holds. */
  readonly identity: string
  /** The service it offers (and its app). */
  readonly offers: string
  readonly allow?: readonly string[]
  readonly advertise?: string
  /** Gossip port (default: any free one). */
  readonly gossipPort?: number
}

/** Starting a process takes long on a busy 2-core machine; it is not what this test measures. */
const START_MS = 60_000

function startNode(spec: NodeSpec, seeds: readonly string[]): Promise<MeshProc> {
  const tls = files.get(spec.name)!
  return MeshProc.start({
    name: spec.name,
    seeds,
    key: KEY,
    ...(spec.gossipPort !== undefined ? { gossip: { listen: `127.0.0.1:${spec.gossipPort}` } } : {}),
    services: SERVICES,
    routes: ROUTES,
    extra: {
      tls: { ca: tls.ca, cert: tls.cert, key: tls.key },
      inbound: { listen: `127.0.0.1:${inboundPorts.get(spec.name)}`, ...(spec.advertise !== undefined ? { advertise: spec.advertise } : {}) },
      local: { services: [{ name: spec.offers, address: app(spec.name).address, ...(spec.allow ? { allow: spec.allow } : {}) }] },
      // connections between sidecars are renewed every 25 requests: rotation is seen by new handshakes under load
      limits: { drainTimeout: '2s', drainGrace: '0s', maxRequestsPerSocket: 25 },
    },
  }, START_MS)
}

t.before(async () => {
  const t0 = Date.now()
  // the mesh's PKI with the CLI, as an operator makes it: the CA, the next CA (rotation), a leaf per identity
  const [meshCa, nextCa] = await limited([0, 1], 2, () => cliCa())
  ca = meshCa!
  newCa = nextCa!
  const identities = ['users', 'payments', 'web']
  const made = await limited(identities, 2, (service) => cliCert(ca, service, { cluster: CLUSTER }))
  identities.forEach((id, i) => certs.set(id, made[i]!))
  // the rest in-process with the code behind the CLI (src/tls/pki.ts; each CLI run costs a second of
  // CPU): an attacker's CA and leaf, and the rotation's leaves, signed by the CLI-made CAs
  const other = await makeCa('another CA')
  certs.set('other-payments', await makeLeaf(other, { service: 'payments', cluster: CLUSTER }))
  for (const [suffix, signer] of [['2', ca], ['3', newCa]] as const) {
    for (const service of ['users', 'payments']) certs.set(`${service}-${suffix}`, await makeLeaf(signer, { service, cluster: CLUSTER }))
  }

  const pkiMs = Date.now() - t0
  const nodes: NodeSpec[] = [
    { name: 'users', identity: 'users', offers: 'users', allow: ['payments'] },
    { name: 'payments', identity: 'payments', offers: 'payments' },
    { name: 'web', identity: 'web', offers: 'web' },
    { name: 'impostor', identity: 'web', offers: 'users' },
  ]
  for (const n of nodes) {
    files.set(n.name, nodeTlsDir(ca.cert, certs.get(n.identity)!))
    apps.set(n.name, await startUpstream(n.name, echoHeaders))
    inboundPorts.set(n.name, await closedPort())
  }
  relay = await startRelay({ host: '127.0.0.1', port: inboundPorts.get('users')! })
  // all four at once: users' gossip port is chosen here, so the others can name it as their seed
  const seedPort = await closedPort()
  const seeds = [`127.0.0.1:${seedPort}`]
  await Promise.all(
    nodes.map(async (n) => procs.set(n.name, await (n.name === 'users' ? startNode({ ...n, advertise: relay.address, gossipPort: seedPort }, []) : startNode(n, seeds)))),
  )
  // payments and web know both endpoints announcing `users` (users at the relay, the impostor at its inbound)
  for (const caller of ['payments', 'web']) {
    await eventually(async () => (await p(caller).endpoints('users')).length === 2, 10_000, `${caller} learns both endpoints of users`)
  }
  t.comment(`set-up: PKI ${pkiMs} ms, four sidecars up and converged ${Date.now() - t0 - pkiMs} ms`)
})

t.test('payments → users: 200, and the app sees x-commy-caller: payments (a caller-sent one is replaced)', async (t) => {
  const before = app('users').seen.length
  for (let i = 0; i < 20; i++) {
    const r = await request(p('payments').port, { path: `/orders/${i}`, headers: { 'x-commy-caller': 'admin' } })
    t.equal(r.status, 200, `request ${i}: 200 (${r.body.slice(0, 120)})`)
    t.equal(r.headers['x-app'], 'users', `request ${i}: answered by the users app`)
    if (r.status === 200) t.equal((json(r).headers as Record<string, string>)['x-commy-caller'], 'payments', `request ${i}: the app saw x-commy-caller: payments`)
  }
  const seen = app('users').seen.slice(before)
  t.equal(seen.length, 20, 'the users app got each request once')
  t.ok(seen.every((s) => s.headers['x-commy-caller'] === 'payments'), 'never the caller-sent value')
})

t.test('web → users: 403 COMMY_ERR_FORBIDDEN; the app never sees the request', async (t) => {
  const before = app('users').seen.length
  for (let i = 0; i < 5; i++) {
    const r = await request(p('web').port, { path: `/profile/${i}` })
    t.equal(r.status, 403, `request ${i}: 403`)
    t.equal(json(r).code, 'COMMY_ERR_FORBIDDEN', `request ${i}: code COMMY_ERR_FORBIDDEN`)
  }
  t.equal(app('users').seen.length, before, 'the users app got none of them')
  const metrics = await (await fetch(`http://127.0.0.1:${p('users').adminPort}/metrics`)).text()
  const refused = metrics.split('\n').filter((l) => !l.startsWith('#') && /forbidden|refused|denied/i.test(l) && l.includes('"web"') && l.includes('"users"'))
  t.ok(refused.length > 0, `users counts the refusals per caller and service: ${refused.join(' | ')}`)
})

t.test("clients at users' inbound port with no valid client certificate, or in plaintext, get no HTTP answer", async (t) => {
  const port = inboundPorts.get('users')!
  const good = certs.get('payments')!
  const control = await tlsAttempt({ port, servername: 'users', ca: ca.cert, cert: good.cert, key: good.key })
  t.match(control.answer, /^HTTP\/1\.1 200 /, 'control: a client holding payments\' certificate gets the app\'s 200 (the probe can see an answer)')

  const other = certs.get('other-payments')!
  const expired = await makeLeaf({ cert: ca.cert, key: ca.key }, { service: 'payments', cluster: CLUSTER, days: -1 })
  const cases = {
    'a certificate from another CA': await tlsAttempt({ port, servername: 'users', ca: ca.cert, cert: other.cert, key: other.key }),
    'an expired certificate': await tlsAttempt({ port, servername: 'users', ca: ca.cert, cert: expired.cert, key: expired.key }),
    'no certificate': await tlsAttempt({ port, servername: 'users', ca: ca.cert }),
    'plaintext HTTP': await plainAttempt(port, 'users'),
  }
  for (const [what, a] of Object.entries(cases)) {
    t.notOk(isHttpAnswer(a), `${what}: no HTTP answer (got ${JSON.stringify(a.answer.slice(0, 40))})`)
    t.ok(a.closed, `${what}: the server closed the connection (${a.error ?? 'no error'})`)
  }
  t.equal(cases['plaintext HTTP'].answer.length > 0 ? cases['plaintext HTTP'].answer.charCodeAt(0) : 0x15, 0x15, 'plaintext: at most a TLS alert record came back')
})

t.test('the impostor (announces users, holds web\'s certificate) gets none of users\' traffic and is reported', async (t) => {
  // payments and web have sent users traffic above; round robin over two endpoints offered the impostor some of it
  t.equal(app('impostor').seen.length, 0, "the impostor's app got no request")
  const impostor = `127.0.0.1:${inboundPorts.get('impostor')}`
  let row: unknown
  await eventually(async () => {
    row = (await p('payments').endpoints('users')).find((e) => e.address === impostor)
    return row !== undefined && (row as { state: string }).state === 'ejected' && JSON.stringify(row).includes('identity')
  }, 5000, "payments shows the impostor's endpoint ejected for its identity")
  t.pass(`payments' view of the impostor: ${JSON.stringify(row)}`)
  const metrics = await (await fetch(`http://127.0.0.1:${p('payments').adminPort}/metrics`)).text()
  t.match(metrics, /^commy_tls_identity_mismatch_total\{service="users"\} [1-9]/m, 'and counts the refused handshakes (commy_tls_identity_mismatch_total)')
  const r = await request(p('payments').port, { path: '/after' })
  t.equal(r.status, 200, 'payments still reaches users')
  t.equal(app('impostor').seen.length, 0, 'and the impostor still gets nothing')
})

t.test('a capture between payments and users shows no plaintext request line, header or body; plaintext through the same relay does', async (t) => {
  const markers = ['POST /capture-path', 'HTTP/1.1', 'x-capture-marker', 'capture-value-7f3a', 'CAPTURE-BODY-MARKER', 'x-commy-caller', 'x-forwarded-for', 'application/json']
  const send = (port: number) =>
    request(port, { method: 'POST', path: '/capture-path', headers: { 'x-capture-marker': 'capture-value-7f3a', 'content-type': 'text/plain' }, body: 'CAPTURE-BODY-MARKER' })
  relay.clear()
  const before = app('users').seen.length
  const r = await send(p('payments').port)
  t.equal(r.status, 200, 'payments → users through the relay: 200')
  t.equal(app('users').seen.length, before + 1, 'the request reached the users app')
  t.equal(app('users').seen.at(-1)!.headers['x-capture-marker'], 'capture-value-7f3a', 'with the marker header')
  const c = relay.captured()
  t.ok(c.toTarget.length > 0 && c.toClient.length > 0, `the relay carried it (${c.toTarget.length} bytes out, ${c.toClient.length} back)`)
  t.same(plaintextIn(c.toTarget, markers), [], 'towards users: none of the markers')
  t.same(plaintextIn(c.toClient, markers), [], 'back to payments: none of the markers')

  // control: the same relay code in front of the users app itself, and the same request in plaintext
  const plain = await startRelay({ host: '127.0.0.1', port: app('users').port })
  try {
    t.equal((await send(plain.port)).status, 200, 'control: the plaintext request through a relay')
    const pc = plain.captured()
    t.same(plaintextIn(Buffer.concat([pc.toTarget, pc.toClient]), markers).sort(), [...markers].filter((m) => m !== 'x-commy-caller' && m !== 'x-forwarded-for').sort(), 'control: the same check finds the markers in plaintext')
  } finally {
    await plain.close()
  }
})

/** Steady GETs through a node's listener from `concurrency` loops over keep-alive connections, each reply labelled with the current phase. */
function steadyTraffic(port: number, concurrency: number, phase: () => string) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency })
  const replies: { phase: string; status: number; app: string; code: string }[] = []
  let running = true
  const one = () =>
    new Promise<void>((resolve) => {
      const at = phase()
      const req = http.get({ host: '127.0.0.1', port, path: '/rotation', agent }, (res) => {
        let body = ''
        res.on('data', (d: Buffer) => (body += d.toString()))
        res.on('end', () => {
          const code = res.statusCode === 200 ? '' : body.slice(0, 300)
          replies.push({ phase: at, status: res.statusCode ?? 0, app: String(res.headers['x-app'] ?? ''), code })
          resolve()
        })
      })
      req.setTimeout(10_000, () => req.destroy(new Error('timed out in test')))
      req.on('error', (err) => {
        replies.push({ phase: at, status: 0, app: '', code: err.message })
        resolve()
      })
    })
  const loops = Array.from({ length: concurrency }, async () => {
    while (running) await one()
  })
  return {
    replies,
    stop: async () => {
      running = false
      await Promise.all(loops)
      agent.destroy()
    },
  }
}

t.test('rotation under load: leaves, then the CA through a bundle, with 0 failed requests', async (t) => {
  const nodes = ['payments', 'users']
  const reloads = (n: string) => p(n).lines.filter((l) => l.msg === ROTATED).length
  let phase = 'before'
  const step = async (what: string, write: (n: string) => void) => {
    const before = new Map(nodes.map((n) => [n, reloads(n)]))
    const conns = relay.connections
    phase = `${what} (writing)`
    for (const n of nodes) write(n)
    await Promise.all(nodes.map((n) => p(n).until(() => reloads(n) > before.get(n)!, 5000, `${what}: tls files reloaded`)))
    phase = what
    // keep the traffic going in this state long enough for new sidecar-to-sidecar handshakes
    await eventually(() => relay.connections >= conns + 2, 5000, `${what}: new connections to users`)
    t.pass(`${what}: reloaded on both nodes; ${relay.connections - conns} new connections payments → users since`)
  }
  const traffic = steadyTraffic(p('payments').port, 2, () => phase)
  stopTraffic = traffic.stop
  await eventually(() => traffic.replies.length >= 20, 5000, 'traffic flows')

  await step('new leaves from the same CA', (n) => replaceLeaf(files.get(n)!, certs.get(`${n}-2`)!))
  await step('CA bundle: old + new', (n) => replaceFile(files.get(n)!.ca, `${ca.cert.trim()}\n${newCa.cert.trim()}\n`))
  await step('leaves from the new CA', (n) => replaceLeaf(files.get(n)!, certs.get(`${n}-3`)!))
  // a TLS session of an old-CA leaf, taken while the old CA is still trusted (resumed below: refused)
  const port = inboundPorts.get('users')!
  const p2 = certs.get('payments-2')!
  const both = `${ca.cert.trim()}\n${newCa.cert.trim()}\n`
  const before = await tlsAttempt({ port, servername: 'users', ca: both, cert: p2.cert, key: p2.key })
  t.match(before.answer, /^HTTP\/1\.1 200 /, 'an old-CA leaf is still accepted while the bundle holds both CAs')
  await step('old CA dropped', (n) => replaceFile(files.get(n)!.ca, newCa.cert))
  phase = 'after'
  await eventually(() => traffic.replies.filter((r) => r.phase === 'after').length >= 10, 5000, 'traffic after the rotation')

  await traffic.stop()
  stopTraffic = undefined
  const failed = traffic.replies.filter((r) => r.status !== 200 || r.app !== 'users')
  t.ok(traffic.replies.length >= 100, `${traffic.replies.length} requests during the rotation`)
  const why = new Map<string, number>()
  for (const r of failed) why.set(`${r.phase}: ${r.status} ${r.code}`, (why.get(`${r.phase}: ${r.status} ${r.code}`) ?? 0) + 1)
  t.equal(failed.length, 0, `0 failed requests${failed.length > 0 ? `; failed: ${JSON.stringify(Object.fromEntries(why))}` : ''}`)
  if (failed.length > 0) for (const n of nodes) t.comment(`${n}: ${JSON.stringify(p(n).lines.filter((l) => Number(l.level) >= 40).slice(-8))}`)

  // users now presents the new CA's leaf, and refuses a client certificate from the old CA
  const p3 = certs.get('payments-3')!
  const now = await tlsAttempt({ port, servername: 'users', ca: newCa.cert, cert: p3.cert, key: p3.key })
  t.match(now.answer, /^HTTP\/1\.1 200 /, 'a client with a new-CA leaf gets through')
  t.equal(now.peer?.fingerprint256, new X509Certificate(certs.get('users-3')!.cert).fingerprint256, 'users serves its new-CA leaf')
  const old = await tlsAttempt({ port, servername: 'users', ca: both, cert: p2.cert, key: p2.key })
  t.notOk(isHttpAnswer(old), 'a leaf of the dropped CA is refused')
  t.ok(before.session, 'the server gave the old-CA client a session ticket')
  const again = await tlsAttempt({ port, servername: 'users', ca: both, cert: p2.cert, key: p2.key, session: before.session })
  t.notOk(again.resumed, 'that session is not resumed after the rotation')
  t.notOk(isHttpAnswer(again), 'and the old-CA leaf is refused in the full handshake')
  t.equal(readFileSync(files.get('users')!.ca, 'utf8'), newCa.cert, 'the node files hold only the new CA')
})
