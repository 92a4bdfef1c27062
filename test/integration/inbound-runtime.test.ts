/**
 * The mTLS inbound listener inside whole Runtimes (real certificate files through the TlsStore,
 * gossip on 127.0.0.1): local services are announced at the inbound address with mtls, a peer
 * learns them so, local health checks still go to the app's own address, and a caller with a
 * mesh certificate reaches the app through the inbound port with x-commy-caller.
 */
import { writeFileSync } from 'node:fs'
import https from 'node:https'
import { join } from 'node:path'
import t from 'tap'
import { makeCa, makeLeaf, type Pem } from '../helpers/pki.js'
import { eventually, FAST_CHECK, meshConfig, startApp } from '../helpers/mesh.js'
import { startRuntime } from '../helpers/runtime.js'
import { tempDir } from '../helpers/temp.js'

const CLUSTER = 'mesh-test'

function writePair(dir: string, ca: Pem, pair: Pem): { ca: string; cert: string; key: string } {
  const files = { ca: join(dir, 'ca.pem'), cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') }
  writeFileSync(files.ca, ca.cert)
  writeFileSync(files.cert, pair.cert)
  writeFileSync(files.key, pair.key, { mode: 0o600 })
  return files
}

function get(port: number, ca: Pem, client: Pem, servername: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', port, path: '/hello', ca: ca.cert, cert: client.cert, key: client.key, servername, checkServerIdentity: () => undefined, agent: false },
      (res) => {
        let body = ''
        res.on('data', (c: Buffer) => (body += c.toString()))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
      },
    )
    req.on('error', reject)
    req.end()
  })
}

t.test('announced at the inbound address with mtls; learned so by a peer; health checks still go to the app', async (t) => {
  const ca = await makeCa()
  const [usersLeaf, peerLeaf, payments] = await Promise.all([
    makeLeaf(ca, { service: 'users', cluster: CLUSTER }),
    makeLeaf(ca, { service: 'web', cluster: CLUSTER }),
    makeLeaf(ca, { service: 'payments', cluster: CLUSTER }),
  ])
  const app = await startApp('users-app')
  t.teardown(() => app.close())
  const tlsB = writePair(tempDir('commy-inbound-b-'), ca, usersLeaf)
  const b = await startRuntime(
    meshConfig({
      name: 'b',
      extra: {
        tls: tlsB,
        inbound: { listen: '127.0.0.1:0' },
        local: { services: [{ name: 'users', address: app.address, allow: ['payments'], healthCheck: FAST_CHECK }] },
      },
    }),
  )
  t.teardown(() => b.stop())
  const inbound = b.runtime.sidecar.inboundAddress()!
  t.ok(inbound.port > 0, 'the inbound listener is bound')
  t.same(
    b.runtime.gossip!.announced().services.map((s) => ({ name: s.name, host: s.host, port: s.port, mtls: s.mtls })),
    [{ name: 'users', host: '127.0.0.1', port: inbound.port, mtls: true }],
    "announced at the gossip advertise host and the inbound port; the app's own port stays private",
  )

  const tlsA = writePair(tempDir('commy-inbound-a-'), ca, peerLeaf)
  const a = await startRuntime(
    meshConfig({
      name: 'a',
      seeds: [`127.0.0.1:${b.runtime.gossip!.address()!.port}`],
      services: { users: {} },
      routes: [{ name: 'users', match: {}, service: 'users' }],
      extra: { tls: tlsA },
    }),
  )
  t.teardown(() => a.stop())
  await eventually(() => (a.runtime.sidecar.registry.service('users')?.snapshot.all.length ?? 0) === 1, 5000, 'a learns users')
  const ep = a.runtime.sidecar.registry.service('users')!.snapshot.all[0]!
  t.same({ host: ep.host, port: ep.port, mtls: ep.mtls, node: ep.node }, { host: '127.0.0.1', port: inbound.port, mtls: true, node: 'b' })

  await eventually(() => b.runtime.health.local.status('users')?.health === 'healthy', 5000, 'the local check passes')
  t.equal(b.runtime.health.local.status('users')?.address, app.address, "the local health check goes to the app's own address")

  const r = await get(inbound.port, ca, payments, 'users')
  t.equal(r.status, 200, 'a mesh caller reaches the app through the inbound port (real files, TlsStore)')
  t.match(r.body, /users-app/)
  t.equal((await get(inbound.port, ca, peerLeaf, 'users')).status, 403, 'web is not in allow')
})
