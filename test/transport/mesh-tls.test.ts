/**
 * Outbound mTLS on real sockets: node:https servers play the peers' inbound listeners (they
 * require a client certificate from the mesh CA), a test discovery source plays gossip
 * (endpoints announced with or without `mtls`), certificates come from test/helpers/pki.ts.
 */
import t from 'tap'
import http from 'node:http'
import https from 'node:https'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { TLSSocket } from 'node:tls'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { DiscoverySource, DiscoveryListener } from '../../src/discovery/discovery.js'
import type { EndpointInfo } from '../../src/endpoint/endpoint.js'
import { ConfigError } from '../../src/errors.js'
import { identityOf, spiffeId } from '../../src/tls/identity.js'
import { makeCa, makeLeaf, StaticCredentials, type Pem } from '../helpers/pki.js'
import { json, request, startUpstream } from '../helpers/upstream.js'
import { captureLogs, startSidecar } from '../helpers/sidecar.js'
import { tempDir } from '../helpers/temp.js'
import { bodyOf, rawClient, statusOf } from '../helpers/raw-client.js'
import { parseConfig } from '../../src/config/load.js'
import { Sidecar } from '../../src/sidecar.js'

interface Peer {
  readonly port: number
  readonly address: string
  /** Client identities (SPIFFE IDs) of the requests it answered. */
  readonly callers: string[]
  /** Fingerprints of the client certificates of its connections. */
  readonly clientCerts: string[]
  /** TCP connections accepted. */
  connections: number
  close(): Promise<void>
}

/** An HTTPS server requiring a client certificate from `ca`, presenting `cert`. */
async function startPeer(name: string, ca: string, cert: Pem, options: { closeEach?: boolean; requireClient?: boolean } = {}): Promise<Peer> {
  const callers: string[] = []
  const clientCerts: string[] = []
  const server = https.createServer(
    { ca, cert: cert.cert, key: cert.key, requestCert: options.requireClient ?? true, rejectUnauthorized: options.requireClient ?? true, minVersion: 'TLSv1.2' },
    (req: IncomingMessage, res: ServerResponse) => {
      const pc = (req.socket as TLSSocket).getPeerCertificate()
      const id = identityOf(pc)
      callers.push(id ? spiffeId(id.cluster, id.service) : 'none')
      if (pc.fingerprint256 !== undefined) clientCerts.push(pc.fingerprint256)
      req.resume()
      req.on('end', () => {
        if (options.closeEach) res.setHeader('connection', 'close')
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ upstream: name, caller: callers.at(-1), sni: (req.socket as TLSSocket).servername }))
      })
    },
  )
  const peer = { connections: 0 }
  server.on('connection', () => peer.connections++)
  server.on('tlsClientError', () => {})
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return Object.assign(peer, {
    port,
    address: `127.0.0.1:${port}`,
    callers,
    clientCerts,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  })
}

/** GET / at a listener's bound address (request() of the helpers knows 127.0.0.1 only). */
function get(at: { host: string; port: number }): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: at.host, port: at.port, path: '/', agent: false }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown> }))
    })
    req.setTimeout(10_000, () => req.destroy(new Error('request timed out in test')))
    req.on('error', reject)
  })
}

/** Plays gossip: announces the given endpoints per service. */
function fakeGossip(byService: Record<string, EndpointInfo[]>): DiscoverySource {
  return {
    name: 'gossip',
    start() {},
    stop() {},
    subscribe(l: DiscoveryListener) {
      for (const [service, endpoints] of Object.entries(byService)) l({ service, endpoints })
      return () => {}
    },
  }
}

function announced(address: string, mtls: boolean, node: string): EndpointInfo {
  const [host, port] = address.split(':')
  return { host: host!, port: Number(port), weight: 1, zone: undefined, tags: [], node, mtls }
}

const dir = tempDir('commy-mesh-tls-')
/** The mesh tls paths the config needs (the credentials are handed over directly). */
function meshTls(mode?: 'strict' | 'permissive'): Record<string, unknown> {
  const f = join(dir, 'unused.pem')
  writeFileSync(f, 'unused')
  return { ca: f, cert: f, key: f, ...(mode ? { mode } : {}) }
}

let ca: Pem
let paymentsLeaf: Pem
let billingLeaf: Pem
let usersLeaf: Pem
let webLeaf: Pem

t.before(async () => {
  ca = await makeCa()
  const [p, b, u, w] = await Promise.all(['payments', 'billing', 'users', 'web'].map((service) => makeLeaf(ca, { service })))
  paymentsLeaf = p!
  billingLeaf = b!
  usersLeaf = u!
  webLeaf = w!
})

/** A listener routing everything to `service`; a second listener needs another loopback address (`ip`). */
const route = (listener: string, service = 'users', ip = '127.0.0.1') => ({ name: listener, listen: `${ip}:0`, routes: [{ match: {}, service }] })

t.test('mesh endpoint: mTLS with the node identity, SNI = service; the peer sees the caller', async (t) => {
  const peer = await startPeer('users-1', ca.cert, usersLeaf)
  const credentials = new StaticCredentials({ ca: ca.cert, node: paymentsLeaf })
  const sc = await startSidecar(
    { listeners: [route('outbound')], services: { users: {} }, tls: meshTls() },
    { credentials, sources: [fakeGossip({ users: [announced(peer.address, true, 'node-b')] })] },
  )
  t.teardown(async () => {
    await sc.stop()
    await peer.close()
  })
  const r = await request(sc.port)
  t.equal(r.status, 200)
  t.same(json(r), { upstream: 'users-1', caller: 'spiffe://commy/service/payments', sni: 'users' })
  // upgrades are not forwarded over TLS yet: refused before a byte is sent, never in plaintext
  const up = await rawClient(sc.port, 'GET /ws HTTP/1.1\r\nHost: users\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n')
  t.equal(statusOf(up.text), 501)
  t.match(bodyOf(up.text), { code: 'COMMY_ERR_UPGRADE_UNSUPPORTED' })
  t.equal(peer.callers.length, 1, 'the peer saw only the first request')
})

t.test('impostor: another service\'s certificate fails the handshake, the request goes elsewhere, the impostor is out of picking', async (t) => {
  const real = await startPeer('users-1', ca.cert, usersLeaf)
  const impostor = await startPeer('impostor', ca.cert, webLeaf)
  const credentials = new StaticCredentials({ ca: ca.cert, node: paymentsLeaf })
  const sc = await startSidecar(
    // attempts: 1: the identity mismatch earns the free try (nothing was sent)
    { listeners: [route('outbound')], services: { users: { strategy: 'round-robin' } }, tls: meshTls() },
    { credentials, sources: [fakeGossip({ users: [announced(impostor.address, true, 'node-evil'), announced(real.address, true, 'node-b')] })] },
  )
  t.teardown(async () => {
    await sc.stop()
    await real.close()
    await impostor.close()
  })
  for (let i = 0; i < 4; i++) {
    const r = await request(sc.port)
    t.equal(r.status, 200, `request ${i}`)
    t.equal(json(r).upstream, 'users-1', 'answered by the real users')
  }
  t.equal(impostor.callers.length, 0, 'no request reached the impostor app')
  t.equal(real.callers.length, 4)
  const ep = sc.sidecar.registry.service('users')!.snapshot.all.find((e) => e.address === impostor.address)!
  t.match(ep.eligibility(performance.now()), {
    eligible: false,
    state: 'ejected',
    reason: 'identity mismatch: presented spiffe://commy/service/web, expected spiffe://commy/service/users',
  })
  t.same(sc.sidecar.registry.service('users')!.snapshot.eligible.map((e) => e.address), [real.address], 'only the real endpoint is picked')
  t.equal(sc.sidecar.identityMismatches().get('users'), 1, 'counted once')
  const warn = sc.lines.filter((l) => l.msg === 'mesh endpoint presented another identity: out of picking')
  t.equal(warn.length, 1, 'logged once')
  t.match(warn[0], { peer: 'node-evil', presented: 'spiffe://commy/service/web', expected: 'spiffe://commy/service/users' })
  const access = sc.access.find((a) => a.attempts === 2)
  t.ok(access, 'one request took two tries')
})

t.test('only an impostor: refused in the handshake, nothing reached its app; no healthy endpoint left', async (t) => {
  const impostor = await startPeer('impostor', ca.cert, webLeaf)
  const credentials = new StaticCredentials({ ca: ca.cert, node: paymentsLeaf })
  const sc = await startSidecar(
    { listeners: [route('outbound')], services: { users: {} }, tls: meshTls() },
    { credentials, sources: [fakeGossip({ users: [announced(impostor.address, true, 'node-evil')] })] },
  )
  t.teardown(async () => {
    await sc.stop()
    await impostor.close()
  })
  // the free try after the mismatch finds no endpoint left (as Envoy: "no healthy upstream")
  const r = await request(sc.port)
  t.equal(r.status, 503)
  t.match(json(r), { code: 'COMMY_ERR_NO_HEALTHY_ENDPOINT' })
  t.equal(sc.access[0]?.attempts, 1, 'the handshake failed; no second pick was possible')
  const again = await request(sc.port)
  t.equal(again.status, 503, 'refused even though every endpoint is out (panic routing never picks it)')
  t.equal(impostor.callers.length, 0, 'nothing reached the impostor app')
  t.equal(impostor.connections, 1, 'one connection only: it is out of picking')
})

t.test('a peer certificate from another CA is a connect failure', async (t) => {
  const otherCa = await makeCa('other CA')
  const stranger = await startPeer('stranger', ca.cert, await makeLeaf(otherCa, { service: 'users' }))
  const credentials = new StaticCredentials({ ca: ca.cert, node: paymentsLeaf })
  const sc = await startSidecar(
    { listeners: [route('outbound')], services: { users: {} }, tls: meshTls() },
    { credentials, sources: [fakeGossip({ users: [announced(stranger.address, true, 'node-x')] })] },
  )
  t.teardown(async () => {
    await sc.stop()
    await stranger.close()
  })
  const r = await request(sc.port)
  t.equal(r.status, 502)
  t.match(json(r), { code: 'COMMY_ERR_UPSTREAM_CONNECT' })
  t.equal(stranger.callers.length, 0)
})

t.test('per-listener identity: two listeners present two identities to the same endpoint', async (t) => {
  const peer = await startPeer('users-1', ca.cert, usersLeaf)
  const credentials = new StaticCredentials({ ca: ca.cert, node: paymentsLeaf, listeners: { 'billing-out': billingLeaf } })
  const f = join(dir, 'listener.pem')
  writeFileSync(f, 'unused')
  const sc = await startSidecar(
    { listeners: [route('outbound'), { ...route('billing-out', 'users', '127.0.0.2'), tls: { cert: f, key: f } }], services: { users: {} }, tls: meshTls() },
    { credentials, sources: [fakeGossip({ users: [announced(peer.address, true, 'node-b')] })] },
  )
  t.teardown(async () => {
    await sc.stop()
    await peer.close()
  })
  const viaNode = await get(sc.sidecar.address('outbound'))
  const viaBilling = await get(sc.sidecar.address('billing-out'))
  const again = await get(sc.sidecar.address('outbound'))
  t.equal(viaNode.body.caller, 'spiffe://commy/service/payments')
  t.equal(viaBilling.body.caller, 'spiffe://commy/service/billing')
  t.equal(again.body.caller, 'spiffe://commy/service/payments', 'pools are per identity')
  t.equal(peer.connections, 2, 'one connection per identity, reused')
})

t.test('tls.mode: strict refuses plaintext gossip endpoints (shown, warned once); permissive uses them; static ones always', async (t) => {
  const plain = await startUpstream('plain')
  const staticUp = await startUpstream('static')
  t.teardown(async () => {
    await plain.close()
    await staticUp.close()
  })
  const credentials = new StaticCredentials({ ca: ca.cert, node: paymentsLeaf })
  const gossip = () => fakeGossip({ users: [announced(plain.address, false, 'node-old')] })

  const strict = await startSidecar({ listeners: [route('outbound'), route('static-out', 'legacy', '127.0.0.2')], services: { users: {}, legacy: { endpoints: [{ address: staticUp.address }] } }, tls: meshTls() }, { credentials, sources: [gossip()] })
  const r = await request(strict.port)
  t.equal(r.status, 503, 'strict: the plaintext endpoint is not picked')
  const ep = strict.sidecar.registry.service('users')!.snapshot.all[0]!
  t.match(ep.eligibility(performance.now()), { eligible: false, state: 'ejected', reason: 'plaintext refused (tls.mode: strict): announced without mTLS by node node-old' })
  await request(strict.port)
  t.equal(strict.lines.filter((l) => l.msg === 'mesh endpoint refused by the tls policy: not picked').length, 1, 'warned once')
  t.equal((await get(strict.sidecar.address('static-out'))).status, 200, 'a static plaintext endpoint is the user\'s choice: used')
  t.equal(plain.seen.length, 0)
  await strict.stop()

  const permissive = await startSidecar({ listeners: [route('outbound')], services: { users: {} }, tls: meshTls('permissive') }, { credentials, sources: [gossip()] })
  const p = await request(permissive.port)
  t.equal(p.status, 200, 'permissive: plaintext during a migration')
  t.equal(json(p).upstream, 'plain')
  // the node moves behind an mTLS inbound: its plaintext pool is never used again
  permissive.sidecar.registry.service('users')!.snapshot.all[0]!.mtls = true
  const after = await request(permissive.port)
  t.equal(after.status, 502, 'dialled with TLS now (this test upstream speaks only plaintext)')
  t.equal(plain.seen.length, 1, 'no plaintext request after the switch')
  await permissive.stop()

  const none = await startSidecar({ listeners: [route('outbound')], services: { users: {} } }, { sources: [fakeGossip({ users: [announced(plain.address, true, 'node-new')] })] })
  t.equal((await request(none.port)).status, 503, 'no tls: an mTLS endpoint cannot be used')
  t.match(none.sidecar.registry.service('users')!.snapshot.all[0]!.eligibility(performance.now()), { reason: /announced at an mTLS inbound by node node-new, and this sidecar has no tls/ })
  await none.stop()
})

t.test('rotation: new connections present the new certificate', async (t) => {
  const peer = await startPeer('users-1', ca.cert, usersLeaf, { closeEach: true })
  const credentials = new StaticCredentials({ ca: ca.cert, node: paymentsLeaf })
  const sc = await startSidecar(
    { listeners: [route('outbound')], services: { users: {} }, tls: meshTls() },
    { credentials, sources: [fakeGossip({ users: [announced(peer.address, true, 'node-b')] })] },
  )
  t.teardown(async () => {
    await sc.stop()
    await peer.close()
  })
  t.equal((await request(sc.port)).status, 200)
  const renewed = await makeLeaf(ca, { service: 'payments' })
  credentials.rotate({ node: renewed })
  t.equal((await request(sc.port)).status, 200)
  t.equal(peer.clientCerts.length, 2)
  t.not(peer.clientCerts[0], peer.clientCerts[1], 'the second connection presented the renewed certificate')
  t.same(peer.callers, ['spiffe://commy/service/payments', 'spiffe://commy/service/payments'], 'same identity')
})

t.test('services.<name>.tls: HTTPS to a static endpoint with a custom CA, servername and client certificate', async (t) => {
  const extCa = await makeCa('partner CA')
  const server = await makeLeaf(extCa, { dnsNames: ['api.partner.example'] })
  const client = await makeLeaf(extCa, { dnsNames: ['commy.client'] })
  const peer = await startPeer('partner', extCa.cert, server)
  t.teardown(() => peer.close())
  const files = { ca: join(dir, 'ext-ca.pem'), cert: join(dir, 'ext-cert.pem'), key: join(dir, 'ext-key.pem') }
  writeFileSync(files.ca, extCa.cert)
  writeFileSync(files.cert, client.cert)
  writeFileSync(files.key, client.key)
  const config = (tls: Record<string, unknown>) => ({ listeners: [route('outbound', 'partner')], services: { partner: { endpoints: [{ address: peer.address }], tls } } })

  const sc = await startSidecar(config({ ...files, servername: 'api.partner.example' }))
  const r = await request(sc.port)
  t.equal(r.status, 200)
  t.match(json(r), { upstream: 'partner', sni: 'api.partner.example' })
  t.equal(peer.clientCerts.length, 1, 'the client certificate was presented')
  await sc.stop()

  const wrongName = await startSidecar(config({ ...files, servername: 'other.example' }))
  const w = await request(wrongName.port)
  t.equal(w.status, 502, 'a certificate not valid for servername')
  t.match(json(w), { code: 'COMMY_ERR_UPSTREAM_CONNECT' })
  await wrongName.stop()

  const systemStore = await startSidecar(config({ cert: files.cert, key: files.key, servername: 'api.partner.example' }))
  t.equal((await request(systemStore.port)).status, 502, 'without ca: the system store, which does not know the partner CA')
  await systemStore.stop()
  t.equal(peer.callers.length, 1, 'no request reached the upstream over an unverified connection')
})

t.test('services.<name>.tls: unusable files are refused with file and reason', async (t) => {
  const extCa = await makeCa('partner CA')
  const a = await makeLeaf(extCa, { dnsNames: ['a'] })
  const b = await makeLeaf(extCa, { dnsNames: ['b'] })
  const expired = await makeLeaf(extCa, { dnsNames: ['old'], days: -1 })
  const f = (name: string, text: string) => {
    const p = join(dir, name)
    writeFileSync(p, text)
    return p
  }
  const build = (tls: Record<string, unknown>) => () =>
    new Sidecar({
      config: parseConfig(JSON.stringify({ listeners: [route('outbound', 'partner')], services: { partner: { endpoints: [{ address: '127.0.0.1:1' }], tls } } }), 'test.yaml'),
      nofile: null,
      logs: captureLogs().logs,
    })
  const missing = join(dir, 'missing.pem')
  t.throws(build({ ca: missing }), { constructor: ConfigError, message: `services.partner.tls.ca: ${missing}: cannot read (ENOENT)` })
  t.throws(build({ ca: f('junk.pem', 'junk') }), { message: /services\.partner\.tls\.ca: .*junk\.pem: no PEM certificate in it/ })
  t.throws(build({ cert: f('a.pem', a.cert), key: f('b-key.pem', b.key) }), { message: /services\.partner\.tls\.key: .*b-key\.pem: does not match the certificate/ })
  t.throws(build({ cert: f('old.pem', expired.cert), key: f('old-key.pem', expired.key) }), { message: /services\.partner\.tls\.cert: .*old\.pem: expired/ })
  const err = (() => {
    try {
      build({ cert: f('a2.pem', a.cert), key: f('b2-key.pem', b.key) })()
    } catch (e) {
      return e as Error
    }
  })()
  t.notMatch(err?.message ?? '', /PRIVATE KEY/, 'no key material in the error')
})

t.test('services.<name>.tls on reload: a bad file refuses the reload (the old config keeps serving); new material reaches new connections', async (t) => {
  const caA = await makeCa('partner CA')
  const caB = await makeCa('partner CA 2')
  const peerA = await startPeer('partner-a', caA.cert, await makeLeaf(caA, { dnsNames: ['api.partner.example'] }), { requireClient: false })
  const peerB = await startPeer('partner-b', caB.cert, await makeLeaf(caB, { dnsNames: ['api.partner.example'] }), { requireClient: false })
  t.teardown(async () => {
    await peerA.close()
    await peerB.close()
  })
  const caFile = join(dir, 'reload-ca.pem')
  writeFileSync(caFile, caA.cert)
  const cfg = (tls: Record<string, unknown>) =>
    parseConfig(JSON.stringify({ listeners: [route('outbound', 'partner')], services: { partner: { endpoints: [{ address: peerA.address }, { address: peerB.address }], strategy: 'round-robin', tls } } }), 'test.yaml')
  const sc = await startSidecar({ listeners: [route('outbound', 'partner')], services: { partner: { endpoints: [{ address: peerA.address }, { address: peerB.address }], strategy: 'round-robin', tls: { ca: caFile, servername: 'api.partner.example' } } } })
  t.teardown(() => sc.stop())
  const statuses = async () => [(await request(sc.port)).status, (await request(sc.port)).status].sort()
  t.same(await statuses(), [200, 502], 'only the endpoint with a certificate from the configured CA')

  await t.rejects(sc.sidecar.reload(cfg({ ca: join(dir, 'nope.pem'), servername: 'api.partner.example' })), { constructor: ConfigError, message: /services\.partner\.tls\.ca: .*nope\.pem: cannot read \(ENOENT\)/ })
  t.same(await statuses(), [200, 502], 'refused: the old material keeps serving')

  const bundle = join(dir, 'reload-bundle.pem')
  writeFileSync(bundle, caA.cert + caB.cert)
  await sc.sidecar.reload(cfg({ ca: bundle, servername: 'api.partner.example' }))
  t.same(await statuses(), [200, 200], "the new CA bundle reaches new connections")
})

t.test('services.<name>.tls with an HTTP health check is refused (it would speak plaintext to HTTPS); a tcp check is fine', async (t) => {
  const raw = (healthCheck: Record<string, unknown>) =>
    JSON.stringify({ listeners: [route('outbound', 'partner')], services: { partner: { endpoints: [{ address: '127.0.0.1:1' }], tls: { servername: 'x' }, healthCheck } } })
  t.throws(() => parseConfig(raw({ http: { path: '/health' } }), 'test.yaml'), { constructor: ConfigError, message: /services\.partner\.healthCheck: an HTTP health check of a service with tls is not supported yet/ })
  t.doesNotThrow(() => parseConfig(raw({ tcp: {} }), 'test.yaml'))
})
