/**
 * The mTLS inbound listener offers ALPN `h2` and `http/1.1`: a mesh peer speaking HTTP/2 is
 * identified by its certificate, authorized per stream (allow lists) and routed on the TLS
 * server name, exactly as an HTTP/1.1 peer.
 */
import http2 from 'node:http2'
import tls from 'node:tls'
import t from 'tap'
import { makeCa, makeLeaf, StaticCredentials, type Pem } from '../helpers/pki.js'
import { startSidecar } from '../helpers/sidecar.js'
import { startUpstream } from '../helpers/upstream.js'
import { h2json, h2request } from '../helpers/h2-client.js'

function h2tls(port: number, ca: string, client: Pem, servername: string): Promise<http2.ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const s = http2.connect(`https://127.0.0.1:${port}`, { ca, cert: client.cert, key: client.key, servername, checkServerIdentity: () => undefined })
    s.once('connect', () => {
      s.on('error', () => {})
      resolve(s)
    })
    s.once('error', reject)
  })
}

t.test('ALPN h2 on the inbound listener: identity, allow list and routing per stream', async (t) => {
  const ca = await makeCa()
  const [node, payments, web] = await Promise.all([makeLeaf(ca, { service: 'users' }), makeLeaf(ca, { service: 'payments' }), makeLeaf(ca, { service: 'web' })])
  const users = await startUpstream('users')
  const credentials = new StaticCredentials({ ca: ca.cert, node, services: {} })
  const sc = await startSidecar(
    {
      listeners: [{ name: 'outbound', listen: '127.0.0.1:0', routes: [] }],
      services: {},
      tls: { ca: '/unused/ca.pem', cert: '/unused/cert.pem', key: '/unused/key.pem' },
      inbound: { listen: '127.0.0.1:0' },
      local: { services: [{ name: 'users', address: users.address, allow: ['payments'] }] },
    },
    { credentials },
  )
  t.teardown(async () => {
    await sc.stop()
    await users.close()
  })
  const port = sc.sidecar.inboundAddress()!.port

  const s = await h2tls(port, ca.cert, payments, 'users')
  t.teardown(() => s.destroy())
  t.equal(s.alpnProtocol, 'h2', 'ALPN chose h2')
  const r = await h2request(s, { ':path': '/me', ':authority': 'users' })
  t.equal(r.status, 200)
  t.equal(h2json(r).upstream, 'users', 'routed on the TLS server name')
  t.equal(users.seen.at(-1)!.headers['x-commy-caller'], 'payments', 'the caller named from its certificate')
  t.equal(users.seen.at(-1)!.headers['x-forwarded-proto'], 'https')
  const forged = await h2request(s, { ':path': '/me', ':authority': 'users', 'x-commy-caller': 'admin' })
  t.equal(forged.status, 200)
  t.equal(users.seen.at(-1)!.headers['x-commy-caller'], 'payments', 'a forged caller header is replaced')

  const w = await h2tls(port, ca.cert, web, 'users')
  t.teardown(() => w.destroy())
  const denied = await h2request(w, { ':path': '/me', ':authority': 'users' })
  t.equal(denied.status, 403, 'a caller not in allow: 403 on its stream')
  t.equal(h2json(denied).code, 'COMMY_ERR_FORBIDDEN')

  // HTTP/1.1 peers still get http/1.1 (the HTTP/1.1 inbound path is test/proxy/inbound.test.ts)
  const alpn = await new Promise<string | false | null>((resolve, reject) => {
    const c = tls.connect({ host: '127.0.0.1', port, ca: ca.cert, cert: payments.cert, key: payments.key, servername: 'users', checkServerIdentity: () => undefined, ALPNProtocols: ['http/1.1'] }, () => {
      resolve(c.alpnProtocol)
      c.destroy()
    })
    c.on('error', reject)
  })
  t.equal(alpn, 'http/1.1', 'an HTTP/1.1 peer is served over http/1.1')
})
