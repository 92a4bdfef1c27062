import t from 'tap'
import { X509Certificate } from 'node:crypto'
import { readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { caCreate, certCreate } from '../../src/tls/commands.js'
import { identityOf } from '../../src/tls/identity.js'
import { loadTlsMaterial } from '../../src/tls/material.js'
import { tempDir } from '../helpers/temp.js'

const mode = (f: string) => statSync(f).mode & 0o777

t.test('ca create writes a CA and its key (0600), refuses to replace the key unless --force', async (t) => {
  const dir = join(tempDir('commy-ca-'), 'ca')
  const r = await caCreate(['--out', dir, '--name', 'prod mesh', '--days', '30'])
  t.ok(r.ok, r.message)
  const ca = new X509Certificate(readFileSync(join(dir, 'ca.pem')))
  t.ok(ca.ca)
  t.equal(ca.subject, 'CN=prod mesh')
  t.ok(Date.parse(ca.validTo) - Date.now() < 31 * 86_400_000)
  t.equal(mode(join(dir, 'ca-key.pem')), 0o600)
  const before = readFileSync(join(dir, 'ca-key.pem'), 'utf8')
  const again = await caCreate(['--out', dir])
  t.match(again, { ok: false, usage: true, message: /ca-key\.pem exists: refusing to replace a CA key/ })
  t.equal(readFileSync(join(dir, 'ca-key.pem'), 'utf8'), before, 'key untouched')
  writeFileSync(join(dir, 'ca-key.pem'), before, { mode: 0o644 })
  t.ok((await caCreate(['--out', dir, '--force'])).ok)
  t.not(readFileSync(join(dir, 'ca-key.pem'), 'utf8'), before, 'replaced with --force')
  t.equal(mode(join(dir, 'ca-key.pem')), 0o600, 'still 0600 when replacing a looser file')
})

t.test('cert create writes a leaf with the SPIFFE identity, its key (0600) and the CA; the store accepts them', async (t) => {
  const root = tempDir('commy-cert-')
  t.ok((await caCreate(['--out', join(root, 'ca')])).ok)
  const r = await certCreate(['--ca', join(root, 'ca'), '--service', 'payments', '--out', join(root, 'payments'), '--cluster', 'prod', '--days', '7'])
  t.ok(r.ok, r.message)
  t.match(r.message, /identity spiffe:\/\/prod\/service\/payments valid until/)
  const out = join(root, 'payments')
  const cert = new X509Certificate(readFileSync(join(out, 'cert.pem')))
  t.same(identityOf({ subjectaltname: cert.subjectAltName }), { cluster: 'prod', service: 'payments' })
  t.equal(mode(join(out, 'key.pem')), 0o600)
  t.equal(readFileSync(join(out, 'ca.pem'), 'utf8'), readFileSync(join(root, 'ca', 'ca.pem'), 'utf8'))
  for (const f of ['cert.pem', 'key.pem', 'ca.pem']) {
    // a CA rotation bundle is `cat old/ca.pem new/ca.pem`: every file ends its last line
    t.ok(readFileSync(join(out, f), 'utf8').endsWith('-----\n'), `${f} ends with a newline`)
  }
  const m = loadTlsMaterial({
    file: '',
    tls: { ca: join(out, 'ca.pem'), cert: join(out, 'cert.pem'), key: join(out, 'key.pem'), mode: 'strict', watch: false },
    listeners: [],
    local: { services: [] },
    gossip: { cluster: 'prod' } as never,
  })
  t.equal(m.node.info.identity, 'spiffe://prod/service/payments')
})

t.test('usage and input errors', async (t) => {
  const root = tempDir('commy-cert-')
  t.match(await caCreate([]), { ok: false, usage: true, message: /needs --out DIR/ })
  t.match(await caCreate(['--out', root, '--days', 'soon']), { ok: false, usage: true, message: /--days must be a whole number/ })
  t.match(await caCreate(['--out', root, '--bogus']), { ok: false, usage: true, message: /bogus/ })
  t.match(await certCreate(['--ca', root]), { ok: false, usage: true, message: /needs --ca DIR, --service NAME and --out DIR2/ })
  t.match(await certCreate(['--ca', root, '--service', 'a/b', '--out', root]), { ok: false, usage: true, message: /is not a commy identity/ })
  t.match(await certCreate(['--ca', join(root, 'none'), '--service', 'a', '--out', root]), { ok: false, usage: true, message: /cannot read .*ca\.pem: no such file/ })
  t.ok((await caCreate(['--out', join(root, 'ca')])).ok)
  t.ok((await caCreate(['--out', join(root, 'ca2')])).ok)
  writeFileSync(join(root, 'ca', 'ca-key.pem'), readFileSync(join(root, 'ca2', 'ca-key.pem')))
  const mismatch = await certCreate(['--ca', join(root, 'ca'), '--service', 'a', '--out', join(root, 'a')])
  t.match(mismatch, { ok: false, usage: true, message: /ca-key\.pem: the key does not match .*ca\.pem/ })
  t.notMatch(mismatch.message, /PRIVATE KEY/)
})
