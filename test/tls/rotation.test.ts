/**
 * Rotation on real TLS sockets (127.0.0.1): a server and a client that ask the TlsStore for their
 * contexts per connection, as the inbound listener and the mesh transport do. After the files
 * change, new connections present the new certificate while an open one keeps working; a CA
 * bundle with the old and the new CA lets leaves of both talk during a CA rotation.
 */
import t from 'tap'
import { X509Certificate } from 'node:crypto'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import tls from 'node:tls'
import { TlsStore } from '../../src/tls/store.js'
import { makeCa, makeLeaf } from '../helpers/pki.js'
import { until } from '../helpers/runtime.js'
import { tlsFiles } from './fixture.js'

/** An mTLS echo server whose context comes from `store` per handshake. */
async function echoServer(store: TlsStore) {
  const server = tls.createServer(
    { SNICallback: (_name, cb) => cb(null, store.serverContext()), requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2' },
    (socket) => socket.pipe(socket),
  )
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return { server, port: (server.address() as AddressInfo).port }
}

/** A client connection with `store`'s client context; resolves with the socket once secure. */
async function connect(store: TlsStore, port: number): Promise<tls.TLSSocket> {
  const socket = tls.connect({ host: '127.0.0.1', port, servername: 'users', secureContext: store.clientContext(), checkServerIdentity: () => undefined })
  await once(socket, 'secureConnect')
  return socket
}

async function echo(socket: tls.TLSSocket, text: string): Promise<string> {
  socket.write(text)
  const [chunk] = (await once(socket, 'data')) as [Buffer]
  return chunk.toString()
}

const serialOf = (pem: string) => new X509Certificate(pem).serialNumber

t.test('new connections get the new certificate, an open one finishes on the old', async (t) => {
  const f = await tlsFiles({ watch: true })
  const serverStore = new TlsStore({ config: f.config, watchDebounceMs: 20, watchPollMs: 500 })
  const clientStore = new TlsStore({ config: f.config })
  serverStore.start()
  const { server, port } = await echoServer(serverStore)
  t.teardown(() => {
    serverStore.stop()
    server.close()
  })

  const before = await connect(clientStore, port)
  t.equal(before.getPeerX509Certificate()?.serialNumber, serialOf(f.leaf.cert))
  t.equal(await echo(before, 'one'), 'one')

  let rotated = 0
  serverStore.onChange(() => rotated++)
  const next = await makeLeaf(f.ca, { service: 'users' })
  f.write('key.pem', next.key)
  f.write('cert.pem', next.cert)
  t.ok(await until(() => rotated === 1, 5_000), 'the watch swapped the files in')

  const after = await connect(clientStore, port)
  t.equal(after.getPeerX509Certificate()?.serialNumber, serialOf(next.cert), 'a new connection: the new certificate')
  t.equal(await echo(after, 'two'), 'two')
  t.equal(await echo(before, 'still'), 'still', 'the open connection keeps working')
  before.end()
  after.end()
})

t.test('CA rotation: with a bundle of both CAs, leaves of the old and the new CA accept each other', async (t) => {
  const f = await tlsFiles()
  const newCa = await makeCa('new CA')
  f.write('ca.pem', f.ca.cert + newCa.cert)
  const serverStore = new TlsStore({ config: f.config })
  // the client has already moved to a leaf of the new CA
  const fresh = await makeLeaf(newCa, { service: 'web' })
  const clientFiles = { ...f.config, tls: { ...f.config.tls!, cert: f.write('web.pem', fresh.cert), key: f.write('web-key.pem', fresh.key) } }
  const clientStore = new TlsStore({ config: clientFiles })
  const { server, port } = await echoServer(serverStore)
  t.teardown(() => server.close())
  const s = await connect(clientStore, port)
  t.equal(s.getPeerX509Certificate()?.issuer, 'CN=commy test CA', 'the server still has an old-CA leaf')
  t.equal(await echo(s, 'mixed'), 'mixed')
  s.end()

  // a client that trusts only the new CA refuses the old-CA server: why the bundle comes first
  const onlyNew = new TlsStore({ config: { ...clientFiles, tls: { ...clientFiles.tls, ca: f.write('new-ca.pem', newCa.cert) } } })
  const refused = tls.connect({ host: '127.0.0.1', port, servername: 'users', secureContext: onlyNew.clientContext(), checkServerIdentity: () => undefined })
  const [err] = (await once(refused, 'error')) as [NodeJS.ErrnoException]
  t.match(err.code, /UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY/)
})
