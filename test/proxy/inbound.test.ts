/**
 * The mTLS inbound listener on real sockets: client certificates made with the test PKI,
 * StaticCredentials for the sidecar, loopback apps behind it.
 */
import { X509Certificate } from 'node:crypto'
import https from 'node:https'
import net from 'node:net'
import tls, { type PeerCertificate } from 'node:tls'
import t, { type Test } from 'tap'
import { Metrics } from '../../src/admin/metrics.js'
import { parseConfig } from '../../src/config/load.js'
import { makeCa, makeLeaf, StaticCredentials, type Pem } from '../helpers/pki.js'
import { rawClient } from '../helpers/raw-client.js'
import { parseProm } from '../helpers/prom-parse.js'
import { startSidecar, waitFor, type TestSidecar } from '../helpers/sidecar.js'
import { startUpstream, type Upstream } from '../helpers/upstream.js'

interface Answer {
  readonly status: number
  readonly headers: Record<string, string | string[] | undefined>
  readonly body: string
  readonly peer: PeerCertificate
}

/** One HTTPS request on a new connection; rejects on a handshake or connection failure. */
function call(
  port: number,
  o: { ca: string; client?: Pem; servername?: string; host?: string; path?: string; headers?: Record<string, string> },
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        path: o.path ?? '/',
        ca: o.ca,
        cert: o.client?.cert,
        key: o.client?.key,
        // no SNI unless asked for ('' stops node:https from taking it from the Host header)
        servername: o.servername ?? '',
        // the caller-side identity check is the outbound transport's job (helper C); here: any mesh server
        checkServerIdentity: () => undefined,
        headers: { host: o.host ?? o.servername ?? 'unknown', ...o.headers },
        agent: false,
      },
      (res) => {
        const sni = (res.socket as tls.TLSSocket & { servername?: string | false }).servername
        if (o.servername === undefined && typeof sni === 'string' && sni !== '') reject(new Error(`SNI ${sni} sent`))
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (c: string) => (body += c))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, peer: (res.socket as tls.TLSSocket).getPeerCertificate() }))
      },
    )
    req.on('error', reject)
    req.setTimeout(5000, () => req.destroy(new Error('timeout')))
    req.end()
  })
}

const bodyOf = (a: Answer) => JSON.parse(a.body) as Record<string, unknown>

/** Resolves with the error a request fails with (and fails the test when it succeeds). */
async function refused(t: Test, p: Promise<Answer>, what: string): Promise<void> {
  try {
    const a = await p
    t.fail(`${what}: answered ${a.status}`)
  } catch (err) {
    t.pass(`${what}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
}

let ca: Pem
let otherCa: Pem
const leaf: Record<string, Pem> = {}

t.before(async () => {
  ca = await makeCa()
  otherCa = await makeCa('another CA')
  const l = (name: string, o: Parameters<typeof makeLeaf>[1], from = ca) => makeLeaf(from, o).then((p) => void (leaf[name] = p))
  await Promise.all([
    l('node', { service: 'users' }),
    l('nodeRotated', { service: 'users' }),
    l('orders', { service: 'orders' }),
    l('payments', { service: 'payments' }),
    l('web', { service: 'web' }),
    l('noIdentity', { dnsNames: ['payments.example'] }),
    l('otherCluster', { service: 'payments', cluster: 'elsewhere' }),
    l('expired', { service: 'payments', days: -1 }),
    l('notYet', { service: 'payments', startsInDays: 2 }),
    l('foreign', { service: 'payments' }, otherCa),
  ])
})

interface Setup {
  readonly sc: TestSidecar
  readonly users: Upstream
  readonly orders: Upstream
  readonly port: number
  readonly credentials: StaticCredentials
}

async function setup(t: Test, limits: Record<string, unknown> = {}): Promise<Setup> {
  const users = await startUpstream('users')
  const orders = await startUpstream('orders')
  const credentials = new StaticCredentials({ ca: ca.cert, node: leaf.node!, services: { orders: leaf.orders! } })
  const sc = await startSidecar(
    {
      listeners: [{ name: 'outbound', listen: '127.0.0.1:0', routes: [] }],
      services: {},
      limits,
      tls: { ca: '/unused/ca.pem', cert: '/unused/cert.pem', key: '/unused/key.pem' },
      inbound: { listen: '127.0.0.1:0' },
      local: {
        services: [
          { name: 'users', address: users.address, allow: ['payments'] },
          { name: 'orders', address: orders.address },
        ],
      },
    },
    { credentials },
  )
  t.teardown(async () => {
    await sc.stop()
    await users.close()
    await orders.close()
  })
  return { sc, users, orders, port: sc.sidecar.inboundAddress()!.port, credentials }
}

const refusedCount = (s: Setup, reason: 'tls' | 'identity' | 'limit') => s.sc.sidecar.overload().refused.get('inbound')?.[reason] ?? 0

t.test('an allowed caller reaches the app: x-commy-caller set, a forged one removed, X-Forwarded-Proto https', async (t) => {
  const s = await setup(t)
  const a = await call(s.port, { ca: ca.cert, client: leaf.payments, servername: 'users', headers: { 'x-commy-caller': 'admin', 'X-Commy-Caller': 'root' } })
  t.equal(a.status, 200)
  t.equal(bodyOf(a).upstream, 'users')
  const seen = s.users.seen.at(-1)!
  t.equal(seen.headers['x-commy-caller'], 'payments', 'the app sees the calling service')
  t.same(
    seen.rawHeaders.filter((_, i, r) => i % 2 === 0 && r[i]!.toLowerCase() === 'x-commy-caller'),
    ['x-commy-caller'],
    'exactly one x-commy-caller: the forged ones are gone',
  )
  t.equal(seen.headers['x-forwarded-proto'], 'https')
  const access = s.sc.access.find((r) => r.listener === 'inbound')
  t.ok(access, 'the access log has the inbound request')
  t.equal(access?.status, 200)
})

t.test('a caller not in allow: 403 COMMY_ERR_FORBIDDEN (JSON), logged, counted per caller and service; absent allow: any mesh identity', async (t) => {
  const s = await setup(t)
  const a = await call(s.port, { ca: ca.cert, client: leaf.web, servername: 'users' })
  t.equal(a.status, 403)
  const body = JSON.parse(a.body) as Record<string, unknown>
  t.equal(body.code, 'COMMY_ERR_FORBIDDEN')
  t.match(body.error, /users.*web/)
  t.equal(s.users.seen.length, 0, 'the app never saw it')
  t.ok(
    s.sc.lines.some((l) => l.service === 'users' && l.caller === 'web' && /403/.test(String(l.msg))),
    'logged with caller and service',
  )
  t.equal((await call(s.port, { ca: ca.cert, client: leaf.web, servername: 'orders' })).status, 200, 'orders has no allow list: web may call it')
  await call(s.port, { ca: ca.cert, client: leaf.payments, servername: 'users' })

  const metrics = new Metrics({ defaultMetrics: false })
  metrics.followOverload(() => s.sc.sidecar.overload())
  const fam = parseProm(await metrics.text()).get('commy_inbound_requests_total')
  const v = (service: string, caller: string, decision: string) =>
    fam?.samples.find((x) => x.labels.service === service && x.labels.caller === caller && x.labels.decision === decision)?.value
  t.equal(v('users', 'web', 'denied'), 1)
  t.equal(v('users', 'payments', 'allowed'), 1)
  t.equal(v('orders', 'web', 'allowed'), 1)
  t.equal(s.sc.access.find((r) => r.status === 403)?.code, 'COMMY_ERR_FORBIDDEN', 'access log code')
})

t.test('the target local service: SNI, else the Host header without port; unknown: 404', async (t) => {
  const s = await setup(t)
  const bySni = await call(s.port, { ca: ca.cert, client: leaf.payments, servername: 'orders', host: 'users:15006' })
  t.equal(bodyOf(bySni).upstream, 'orders', 'SNI wins over Host')
  t.match(bySni.peer.subjectaltname, /service\/orders/, 'the server presents the certificate of the SNI service')
  const byHost = await call(s.port, { ca: ca.cert, client: leaf.payments, host: 'orders:15006' })
  t.equal(bodyOf(byHost).upstream, 'orders', 'no SNI: the Host header without port')
  t.match(byHost.peer.subjectaltname, /service\/users/, "no SNI: the node's certificate")
  const unknown = await call(s.port, { ca: ca.cert, client: leaf.payments, servername: 'billing' })
  t.equal(unknown.status, 404)
  t.equal(bodyOf(unknown).code, 'COMMY_ERR_NO_ROUTE')
})

t.test('no valid client certificate: the handshake fails (another CA, expired, not yet valid, none)', async (t) => {
  const s = await setup(t)
  await refused(t, call(s.port, { ca: ca.cert, client: leaf.foreign, servername: 'orders' }), "another CA's certificate")
  await refused(t, call(s.port, { ca: ca.cert, client: leaf.expired, servername: 'orders' }), 'an expired certificate')
  await refused(t, call(s.port, { ca: ca.cert, client: leaf.notYet, servername: 'orders' }), 'a not-yet-valid certificate')
  await refused(t, call(s.port, { ca: ca.cert, servername: 'orders' }), 'no certificate')
  t.ok(await waitFor(() => refusedCount(s, 'tls') >= 4), `counted as refused: tls (${refusedCount(s, 'tls')})`)
  t.equal(s.orders.seen.length, 0, 'the app saw nothing')
})

t.test('a certificate without a mesh identity of our trust domain: closed at once, no HTTP answer', async (t) => {
  const s = await setup(t)
  await refused(t, call(s.port, { ca: ca.cert, client: leaf.noIdentity, servername: 'orders' }), 'no SPIFFE URI SAN')
  await refused(t, call(s.port, { ca: ca.cert, client: leaf.otherCluster, servername: 'orders' }), 'another trust domain')
  t.ok(await waitFor(() => refusedCount(s, 'identity') === 2), 'counted as refused: identity')
  t.ok(s.sc.lines.some((l) => /not a mesh identity/.test(String(l.msg))), 'logged')
  t.equal(s.orders.seen.length, 0)
})

t.test('plaintext HTTP to the inbound port gets nothing an app could mistake for an answer', async (t) => {
  const s = await setup(t)
  const r = await rawClient(s.port, 'GET / HTTP/1.1\r\nHost: orders\r\n\r\n', { giveUpMs: 3000 })
  t.notMatch(r.text, /HTTP\//, `no HTTP response (${JSON.stringify(r.text.slice(0, 40))})`)
  t.ok(r.closedAfterMs < 3000, 'the connection is closed')
  t.equal(s.orders.seen.length, 0)
  t.ok(await waitFor(() => refusedCount(s, 'tls') === 1), 'counted as refused: tls')
})

t.test('rotation: new connections get the new certificate, with and without SNI', async (t) => {
  const s = await setup(t)
  const before = await call(s.port, { ca: ca.cert, client: leaf.payments, host: 'users' })
  t.equal(before.peer.serialNumber, serialOf(leaf.node!))
  s.credentials.rotate({ node: leaf.nodeRotated! })
  const noSni = await call(s.port, { ca: ca.cert, client: leaf.payments, host: 'users' })
  t.equal(noSni.peer.serialNumber, serialOf(leaf.nodeRotated!), 'without SNI: the rotated certificate')
  const sni = await call(s.port, { ca: ca.cert, client: leaf.payments, servername: 'users' })
  t.equal(sni.peer.serialNumber, serialOf(leaf.nodeRotated!), 'with SNI: the rotated certificate')
  t.equal(noSni.status, 200)
})

t.test('limits apply to the inbound listener: header count, connection cap', async (t) => {
  const s = await setup(t, { maxHeaderCount: 10, maxConnections: 2 })
  const many: Record<string, string> = {}
  for (let i = 0; i < 12; i++) many[`x-h${i}`] = 'v'
  const big = await call(s.port, { ca: ca.cert, client: leaf.payments, servername: 'users', headers: many })
  t.equal(big.status, 431)
  t.equal(bodyOf(big).code, 'COMMY_ERR_HEADERS_TOO_LARGE')
  // two idle connections fill the cap; a third is closed on accept
  const open = await Promise.all([0, 1].map(() => tlsConnect(s.port, leaf.payments!)))
  await refused(t, call(s.port, { ca: ca.cert, client: leaf.payments, servername: 'users' }), 'a third connection')
  t.ok(await waitFor(() => refusedCount(s, 'limit') >= 1), 'counted as refused: limit')
  for (const c of open) c.destroy()
})

t.test('a resumed TLS session keeps its caller identity (clients cache sessions)', async (t) => {
  const s = await setup(t)
  const first = await tlsRequest(s.port, leaf.payments!, undefined)
  t.match(first.text, /^HTTP\/1\.1 200/)
  t.ok(first.session, 'the server gave a session to resume')
  const second = await tlsRequest(s.port, leaf.payments!, first.session)
  t.ok(second.reused, 'the session was resumed')
  t.match(second.text, /^HTTP\/1\.1 200/, 'and the caller is still known')
  t.equal(s.users.seen.at(-1)?.headers['x-commy-caller'], 'payments')
})

t.test('an Upgrade request through the inbound listener: authorized, with x-commy-caller', async (t) => {
  const s = await setup(t)
  const seen: (string | string[] | undefined)[] = []
  s.users.server.on('upgrade', (req: import('node:http').IncomingMessage, socket: net.Socket) => {
    seen.push(req.headers['x-commy-caller'])
    socket.end('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n')
  })
  const up = (client: Pem) => rawTls(s.port, client, 'GET /ws HTTP/1.1\r\nHost: users\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nx-commy-caller: root\r\n\r\n')
  t.match(await up(leaf.payments!), /^HTTP\/1\.1 101/)
  t.same(seen, ['payments'], 'the app sees the caller, not the forged header')
  t.match(await up(leaf.web!), /^HTTP\/1\.1 403[\s\S]*COMMY_ERR_FORBIDDEN/)
  t.equal(seen.length, 1)
})

t.test('a TLS handshake must finish within limits.headersTimeout', async (t) => {
  const s = await setup(t, { headersTimeout: '300ms' })
  const r = await rawClient(s.port, '', { giveUpMs: 4000 })
  t.ok(r.closedAfterMs < 4000, `an idle connection is closed after ${r.closedAfterMs} ms`)
  t.equal(r.text, '')
})

t.test('a reload applies new allow lists and addresses of local services', async (t) => {
  const s = await setup(t)
  t.equal((await call(s.port, { ca: ca.cert, client: leaf.web, servername: 'users' })).status, 403)
  const next = parseConfig(
    JSON.stringify({
      listeners: [{ name: 'outbound', listen: '127.0.0.1:0', routes: [] }],
      services: {},
      tls: { ca: '/unused/ca.pem', cert: '/unused/cert.pem', key: '/unused/key.pem' },
      inbound: { listen: '127.0.0.1:0' },
      local: { services: [{ name: 'users', address: s.orders.address, allow: ['web'] }] },
    }),
    'next.yaml',
  )
  await s.sc.sidecar.reload(next)
  const a = await call(s.port, { ca: ca.cert, client: leaf.web, servername: 'users' })
  t.equal(a.status, 200, 'web is allowed now')
  t.equal(bodyOf(a).upstream, 'orders', 'at the new address')
  t.equal((await call(s.port, { ca: ca.cert, client: leaf.payments, servername: 'users' })).status, 403, 'payments no longer')
  t.equal((await call(s.port, { ca: ca.cert, client: leaf.web, servername: 'orders' })).status, 404, 'a removed local service has no route')
})

/** One request on a raw TLS connection (SNI users); what came back, and the session. */
function tlsRequest(port: number, client: Pem, session: Buffer | undefined): Promise<{ text: string; session: Buffer | undefined; reused: boolean }> {
  return new Promise((resolve, reject) => {
    let text = ''
    let saved: Buffer | undefined
    let reused = false
    const s = tls.connect(
      { host: '127.0.0.1', port, ca: ca.cert, cert: client.cert, key: client.key, servername: 'users', session, checkServerIdentity: () => undefined },
      () => {
        reused = s.isSessionReused()
        s.write('GET / HTTP/1.1\r\nHost: users\r\nConnection: close\r\n\r\n')
      },
    )
    s.on('session', (b: Buffer) => (saved = b))
    s.on('data', (d: Buffer) => (text += d.toString()))
    s.on('error', reject)
    s.on('close', () => resolve({ text, session: saved, reused }))
  })
}

/** Writes `head` on a TLS connection (SNI users) and resolves with the first bytes answered. */
function rawTls(port: number, client: Pem, head: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, ca: ca.cert, cert: client.cert, key: client.key, servername: 'users', checkServerIdentity: () => undefined }, () => s.write(head))
    let text = ''
    s.on('data', (d: Buffer) => {
      text += d.toString()
      if (/\r\n\r\n/.test(text) && (!/content-length: (\d+)/i.test(text) || text.length - text.indexOf('\r\n\r\n') - 4 >= Number(/content-length: (\d+)/i.exec(text)![1]))) {
        s.destroy()
        resolve(text)
      }
    })
    s.on('error', reject)
    s.on('close', () => resolve(text))
  })
}

function serialOf(pem: Pem): string {
  return new X509Certificate(pem.cert).serialNumber
}

function tlsConnect(port: number, client: Pem): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, ca: ca.cert, cert: client.cert, key: client.key, servername: 'users', checkServerIdentity: () => undefined }, () => resolve(s))
    s.on('error', reject)
  })
}
