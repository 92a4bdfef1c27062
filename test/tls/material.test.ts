import t, { type Test } from 'tap'
import { chmodSync } from 'node:fs'
import { join } from 'node:path'
import { ConfigError } from '../../src/errors.js'
import { loadTlsMaterial, tlsFiles as filesOf } from '../../src/tls/material.js'
import type { TlsConfigSlice } from '../../src/tls/store.js'
import { makeCa, makeLeaf } from '../helpers/pki.js'
import { tlsFiles } from './fixture.js'

/** The ConfigError `fn` throws (fails the test when it does not). */
function configError(t: Test, fn: () => unknown): ConfigError {
  try {
    fn()
  } catch (err) {
    t.type(err, ConfigError)
    const e = err as ConfigError
    t.notMatch(e.message, /PRIVATE KEY/, 'no key material in the message')
    return e
  }
  t.fail('expected a ConfigError')
  throw new Error('unreachable')
}

t.test('good files load: identity, expiry, CA only in the bundle, digests of every file', async (t) => {
  const f = await tlsFiles()
  const m = loadTlsMaterial(f.config)
  t.equal(m.cluster, 'commy')
  t.equal(m.node.info.identity, 'spiffe://commy/service/users')
  t.equal(m.node.info.file, f.config.tls!.cert)
  t.ok(m.node.info.notAfter > Date.now() + 29 * 86_400_000)
  t.match(m.ca, /BEGIN CERTIFICATE/)
  t.same(m.certificates.map((c) => c.role), ['node', 'ca'])
  t.same([...m.digests.keys()].sort(), filesOf(f.config).sort())
})

t.test('the trust domain is gossip.cluster', async (t) => {
  const f = await tlsFiles({ cluster: 'prod' })
  t.equal(loadTlsMaterial(f.config).node.info.identity, 'spiffe://prod/service/users')
  const other = { ...f.config, gossip: { cluster: 'staging' } } as TlsConfigSlice
  const e = configError(t, () => loadTlsMaterial(other))
  t.match(e.message, /tls\.cert: .*cert\.pem: the certificate's trust domain "prod" is not this mesh's cluster "staging"/)
})

t.test('missing, unreadable and non-PEM files are refused with key path, file and reason', async (t) => {
  const f = await tlsFiles()
  const missing = { ...f.config, tls: { ...f.config.tls!, cert: join(f.dir, 'nope.pem') } }
  t.match(configError(t, () => loadTlsMaterial(missing)).message, /tls\.cert: .*nope\.pem: cannot read the file: it does not exist/)

  const notPem = f.write('garbage.pem', 'hello\n')
  t.match(configError(t, () => loadTlsMaterial({ ...f.config, tls: { ...f.config.tls!, cert: notPem } })).message, /tls\.cert: .*garbage\.pem: not a PEM certificate file/)
  t.match(configError(t, () => loadTlsMaterial({ ...f.config, tls: { ...f.config.tls!, key: notPem } })).message, /tls\.key: .*garbage\.pem: not a PEM key file/)
  t.match(configError(t, () => loadTlsMaterial({ ...f.config, tls: { ...f.config.tls!, ca: notPem } })).message, /tls\.ca: .*garbage\.pem: not a PEM certificate file/)

  const broken = f.write('broken-key.pem', '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n')
  t.match(configError(t, () => loadTlsMaterial({ ...f.config, tls: { ...f.config.tls!, key: broken } })).message, /tls\.key: .*broken-key\.pem: the PEM private key could not be read/)

  if (process.getuid?.() !== 0) {
    const locked = f.write('locked.pem', f.leaf.key)
    chmodSync(locked, 0o000)
    t.match(configError(t, () => loadTlsMaterial({ ...f.config, tls: { ...f.config.tls!, key: locked } })).message, /tls\.key: .*locked\.pem: cannot read the file: permission denied/)
  }
})

t.test('a key that does not match the certificate is refused, without key bytes', async (t) => {
  const f = await tlsFiles()
  const other = await makeLeaf(f.ca, { service: 'users' })
  const key = f.write('other-key.pem', other.key)
  const e = configError(t, () => loadTlsMaterial({ ...f.config, tls: { ...f.config.tls!, key } }))
  t.match(e.message, /tls\.key: .*other-key\.pem: the private key does not match the certificate .*cert\.pem/)
  const body = other.key.split('\n').slice(1, -2).join('')
  t.notOk(e.message.includes(body.slice(0, 20)), 'no key bytes')
})

t.test('expired and not-yet-valid certificates are refused', async (t) => {
  const f = await tlsFiles()
  const expired = await makeLeaf(f.ca, { service: 'users', days: -1 })
  const cert = f.write('expired.pem', expired.cert)
  const key = f.write('expired-key.pem', expired.key)
  t.match(configError(t, () => loadTlsMaterial({ ...f.config, tls: { ...f.config.tls!, cert, key } })).message, /tls\.cert: .*expired\.pem: the certificate expired on \d{4}-/)
  const later = await makeLeaf(f.ca, { service: 'users', startsInDays: 2 })
  const cert2 = f.write('later.pem', later.cert)
  const key2 = f.write('later-key.pem', later.key)
  t.match(configError(t, () => loadTlsMaterial({ ...f.config, tls: { ...f.config.tls!, cert: cert2, key: key2 } })).message, /tls\.cert: .*later\.pem: the certificate is not valid before \d{4}-/)
})

t.test('a certificate without a commy identity is refused', async (t) => {
  const f = await tlsFiles()
  const none = await makeLeaf(f.ca, { dnsNames: ['users.example'] })
  const cert = f.write('none.pem', none.cert)
  const key = f.write('none-key.pem', none.key)
  t.match(configError(t, () => loadTlsMaterial({ ...f.config, tls: { ...f.config.tls!, cert, key } })).message, /tls\.cert: .*none\.pem: the certificate has no commy identity: it needs exactly one URI SAN spiffe:\/\/commy\/service\/<service>/)
})

t.test('a leaf from another CA, and a CA file without a CA, are refused', async (t) => {
  const f = await tlsFiles()
  const otherCa = await makeCa('other CA')
  const stranger = await makeLeaf(otherCa, { service: 'users' })
  const cert = f.write('stranger.pem', stranger.cert)
  const key = f.write('stranger-key.pem', stranger.key)
  t.match(configError(t, () => loadTlsMaterial({ ...f.config, tls: { ...f.config.tls!, cert, key } })).message, /tls\.cert: .*stranger\.pem: the certificate does not chain to a valid CA of .*ca\.pem/)
  const leafAsCa = f.write('leaf-as-ca.pem', f.leaf.cert)
  t.match(configError(t, () => loadTlsMaterial({ ...f.config, tls: { ...f.config.tls!, ca: leafAsCa } })).message, /tls\.ca: .*leaf-as-ca\.pem: no CA certificate in the file/)
})

t.test('a CA bundle (old and new CA) trusts leaves of both', async (t) => {
  const f = await tlsFiles()
  const newCa = await makeCa('new CA')
  const bundle = f.write('bundle.pem', f.ca.cert + newCa.cert)
  const fresh = await makeLeaf(newCa, { service: 'users' })
  const cert = f.write('fresh.pem', fresh.cert)
  const key = f.write('fresh-key.pem', fresh.key)
  const old = loadTlsMaterial({ ...f.config, tls: { ...f.config.tls!, ca: bundle } })
  t.same(old.certificates.filter((c) => c.role === 'ca').length, 2)
  t.ok(loadTlsMaterial({ ...f.config, tls: { ...f.config.tls!, ca: bundle, cert, key } }))
})

t.test('per-listener and per-service identities; a service certificate must name its service', async (t) => {
  const f = await tlsFiles()
  const web = await makeLeaf(f.ca, { service: 'web' })
  const orders = await makeLeaf(f.ca, { service: 'orders' })
  const webFiles = { cert: f.write('web.pem', web.cert), key: f.write('web-key.pem', web.key) }
  const orderFiles = { cert: f.write('orders.pem', orders.cert), key: f.write('orders-key.pem', orders.key) }
  const config = {
    ...f.config,
    listeners: [{ name: 'egress', tls: webFiles }],
    local: { services: [{ name: 'orders', tls: orderFiles }] },
  } as unknown as TlsConfigSlice
  const m = loadTlsMaterial(config)
  t.equal(m.listeners.get('egress')?.info.identity, 'spiffe://commy/service/web')
  t.equal(m.services.get('orders')?.info.identity, 'spiffe://commy/service/orders')
  const wrong = { ...config, local: { services: [{ name: 'orders', tls: webFiles }] } } as unknown as TlsConfigSlice
  t.match(configError(t, () => loadTlsMaterial(wrong)).message, /local\.services\[0\]\.tls\.cert: .*web\.pem: the certificate is for service "web", not local service "orders"/)
})

t.test('PEM text pasted where a path belongs is refused without being shown', async (t) => {
  const f = await tlsFiles()
  const e = configError(t, () => loadTlsMaterial({ ...f.config, tls: { ...f.config.tls!, key: f.leaf.key } }))
  t.match(e.message, /tls\.key: \[redacted\]: expects the path of a PEM file, not PEM text/)
})

t.test('every problem at once, each with its path', async (t) => {
  const f = await tlsFiles()
  const config = { ...f.config, tls: { ...f.config.tls!, ca: join(f.dir, 'x.pem'), key: join(f.dir, 'y.pem') } }
  const e = configError(t, () => loadTlsMaterial(config))
  t.same(e.issues.map((i) => i.path), ['tls.ca', 'tls.key'])
})
