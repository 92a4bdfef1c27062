import t from 'tap'
import { X509Certificate } from 'node:crypto'
import { ManualClock } from '../../src/clock.js'
import { ConfigError } from '../../src/errors.js'
import { TlsStore, type TlsLog } from '../../src/tls/store.js'
import { makeCa, makeLeaf } from '../helpers/pki.js'
import { until } from '../helpers/runtime.js'
import { tlsFiles } from './fixture.js'

function recordingLog(): TlsLog & { lines: string[] } {
  const lines: string[] = []
  return {
    lines,
    info: (obj, msg) => lines.push(`info ${msg} ${JSON.stringify(obj)}`),
    warn: (obj, msg) => lines.push(`warn ${msg} ${JSON.stringify(obj)}`),
  }
}

t.test('builds cached secure contexts per identity; node identity and certificates exposed', async (t) => {
  const f = await tlsFiles()
  const web = await makeLeaf(f.ca, { service: 'web' })
  const config = { ...f.config, listeners: [{ name: 'egress', tls: { cert: f.write('web.pem', web.cert), key: f.write('web-key.pem', web.key) } }] } as unknown as typeof f.config
  const store = new TlsStore({ config })
  t.equal(store.cluster, 'commy')
  t.equal(store.node.identity, 'spiffe://commy/service/users')
  t.equal(store.clientContext(), store.clientContext(), 'cached')
  t.equal(store.clientContext('other'), store.serverContext(), 'unknown listener/service: the node identity')
  t.not(store.clientContext('egress'), store.clientContext())
  t.equal(new X509Certificate(store.ca()).subject, new X509Certificate(f.ca.cert).subject)
  t.same(store.certificates().map((c) => c.identity).slice(0, 2), ['spiffe://commy/service/users', 'spiffe://commy/service/web'])
})

t.test('construction refuses bad files with a ConfigError', async (t) => {
  const f = await tlsFiles()
  f.write('cert.pem', (await makeLeaf(f.ca, { service: 'users', days: -1 })).cert)
  t.throws(() => new TlsStore({ config: f.config }), ConfigError)
})

t.test('refresh: changed files that check out are swapped in and onChange fires; bad ones keep the old', async (t) => {
  const f = await tlsFiles()
  const log = recordingLog()
  const store = new TlsStore({ config: f.config, log })
  let changes = 0
  const off = store.onChange(() => changes++)
  const before = store.clientContext()
  store.refresh()
  t.equal(changes, 0, 'nothing changed, nothing fires')

  const next = await makeLeaf(f.ca, { service: 'users' })
  f.write('cert.pem', next.cert)
  store.refresh()
  t.equal(changes, 0, 'a cert without its new key is refused (key mismatch)')
  t.equal(store.clientContext(), before, 'the old context stays')
  t.match(log.lines.at(-1), /warn tls: the changed files were refused.*tls\.key: .*key\.pem: the private key does not match/)
  const warnings = log.lines.length
  store.refresh()
  t.equal(log.lines.length, warnings, 'the same refused files are not logged again')

  f.write('key.pem', next.key)
  store.refresh()
  t.equal(changes, 1, 'the matching pair is swapped in')
  t.not(store.clientContext(), before, 'a new context')
  t.equal(store.certificates()[0]!.notAfter, Date.parse(new X509Certificate(next.cert).validTo))
  t.ok(log.lines.every((l) => !l.includes('PRIVATE KEY')), 'no key material logged')
  off()
  f.write('cert.pem', f.leaf.cert)
  f.write('key.pem', f.leaf.key)
  store.refresh()
  t.equal(changes, 1, 'unsubscribed')
})

t.test('CA rotation through a bundle: old and new CA trusted, then the new alone', async (t) => {
  const f = await tlsFiles()
  const store = new TlsStore({ config: f.config })
  const newCa = await makeCa('new CA')
  f.write('ca.pem', f.ca.cert + newCa.cert)
  store.refresh()
  t.equal(store.certificates().filter((c) => c.role === 'ca').length, 2)
  const leaf = await makeLeaf(newCa, { service: 'users' })
  f.write('cert.pem', leaf.cert)
  f.write('key.pem', leaf.key)
  store.refresh()
  t.equal(store.certificates()[0]!.notAfter, Date.parse(new X509Certificate(leaf.cert).validTo))
  f.write('ca.pem', newCa.cert)
  store.refresh()
  t.equal(store.certificates().filter((c) => c.role === 'ca').length, 1)
})

t.test('stage checks a new config without changing anything; commit swaps', async (t) => {
  const f = await tlsFiles()
  const store = new TlsStore({ config: f.config })
  let changes = 0
  store.onChange(() => changes++)
  t.throws(() => store.stage({ ...f.config, tls: { ...f.config.tls!, cert: `${f.dir}/missing.pem` } }), ConfigError)
  t.throws(() => store.stage({ ...f.config, tls: undefined }), { message: /removing the mesh tls needs a restart/ })
  t.equal(changes, 0)
  const next = await makeLeaf(f.ca, { service: 'users' })
  const staged = store.stage({ ...f.config, tls: { ...f.config.tls!, cert: f.write('cert2.pem', next.cert), key: f.write('key2.pem', next.key) } })
  t.equal(changes, 0, 'staging alone changes nothing')
  store.commit(staged)
  t.equal(changes, 1)
  t.equal(store.certificates()[0]!.file, `${f.dir}/cert2.pem`)
})

t.test('watch: a rotation on disk is picked up without a call; stop leaves nothing running', async (t) => {
  const f = await tlsFiles({ watch: true })
  const store = new TlsStore({ config: f.config, watchDebounceMs: 20, watchPollMs: 200 })
  let changes = 0
  store.onChange(() => changes++)
  store.start()
  const next = await makeLeaf(f.ca, { service: 'users' })
  f.write('key.pem', next.key)
  f.write('cert.pem', next.cert)
  await until(() => changes === 1, 5_000)
  t.equal(changes, 1)
  store.stop()
  store.stop()
  f.write('key.pem', f.leaf.key)
  f.write('cert.pem', f.leaf.cert)
  // absence check: nothing can be waited on, so a fixed wait longer than the poll interval
  await new Promise((r) => setTimeout(r, 400))
  t.equal(changes, 1, 'no reload after stop')
})

t.test('the poll alone finds a change (no fs events, as on some mounts)', async (t) => {
  const f = await tlsFiles({ watch: true })
  const clock = new ManualClock()
  const store = new TlsStore({ config: f.config, clock, watchPollMs: 1_000 })
  let changes = 0
  store.onChange(() => changes++)
  store.start()
  const next = await makeLeaf(f.ca, { service: 'users' })
  f.write('key.pem', next.key)
  f.write('cert.pem', next.cert)
  clock.advance(1_000)
  t.equal(changes, 1)
  store.stop()
  t.equal(clock.pending(), 0, 'no timer left')
})
