import t, { type Test } from 'tap'
import { readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { runCli, startCli } from '../helpers/cli.js'
import { makeLeaf } from '../helpers/pki.js'
import { tempDir } from '../helpers/temp.js'

function config(dir: string, watch: boolean): string {
  return `log: { level: info, accessLog: false }
admin: { listen: 127.0.0.1:0 }
tls: { ca: ${dir}/ca.pem, cert: ${dir}/cert.pem, key: ${dir}/key.pem, watch: ${watch} }
listeners:
  - name: outbound
    listen: 127.0.0.1:0
    routes:
      - match: {}
        service: a
services:
  a:
    endpoints: [{ address: 127.0.0.1:1 }]
`
}

/** A mesh made with the CLI: root/ca (the CA) and root/users (cert.pem, key.pem, ca.pem). */
async function cliMesh(t: Test): Promise<{ root: string; dir: string; ca: { cert: string; key: string } }> {
  const root = tempDir('commy-cli-tls-')
  const ca = await runCli(['ca', 'create', '--out', join(root, 'ca')])
  t.equal(ca.code, 0, ca.stderr)
  const cert = await runCli(['cert', 'create', '--ca', join(root, 'ca'), '--service', 'users', '--out', join(root, 'users')])
  t.equal(cert.code, 0, cert.stderr)
  t.match(cert.stdout, /identity spiffe:\/\/commy\/service\/users valid until/)
  return { root, dir: join(root, 'users'), ca: { cert: readFileSync(join(root, 'ca', 'ca.pem'), 'utf8'), key: readFileSync(join(root, 'ca', 'ca-key.pem'), 'utf8') } }
}

const keyBody = (pem: string) => pem.split('\n').filter((l) => l && !l.startsWith('-----'))

function replace(file: string, text: string): void {
  writeFileSync(`${file}.new`, text, { mode: 0o600 })
  renameSync(`${file}.new`, file)
}

// node starts slowly on a loaded machine: one CLI-made mesh serves both tests
let shared: Promise<{ root: string; dir: string; ca: { cert: string; key: string } }> | undefined
const mesh = (t: Test) => (shared ??= cliMesh(t))

t.test('the CLI makes a CA and a certificate; validate and start accept them, and refuse bad ones with exit 2, file and reason', async (t) => {
  const m = await mesh(t)
  const file = join(m.root, 'sidecar.yaml')
  writeFileSync(file, config(m.dir, false))
  const ok = await runCli(['validate', file])
  t.equal(ok.code, 0, ok.stderr)

  // usage errors (exit 2) are listed in test/tls/commands.test.ts; one here for the exit code
  const overwrite = await runCli(['ca', 'create', '--out', join(m.root, 'ca')])
  t.equal(overwrite.code, 2)
  t.match(overwrite.stderr, /ca-key\.pem exists: refusing to replace a CA key/)

  const expired = await makeLeaf(m.ca, { service: 'users', days: -1 })
  replace(join(m.dir, 'cert.pem'), expired.cert)
  replace(join(m.dir, 'key.pem'), expired.key)
  const v = await runCli(['validate', file])
  t.equal(v.code, 2)
  t.match(v.stderr, new RegExp(`tls\\.cert: ${m.dir}/cert\\.pem: the certificate expired on `))
  const run = await runCli(['--config', file])
  t.equal(run.code, 2, 'starting with it exits 2')
  t.equal(run.stderr, v.stderr, 'the same message as validate')
  for (const line of keyBody(expired.key)) t.notOk(run.stderr.includes(line) || run.stdout.includes(line), 'no key bytes')
})

t.test('a running sidecar: a bad file on SIGHUP is refused (old kept), a good one rotates; the watch rotates without a signal', async (t) => {
  const m = await mesh(t)
  const good = await makeLeaf(m.ca, { service: 'users' })
  replace(join(m.dir, 'cert.pem'), good.cert)
  replace(join(m.dir, 'key.pem'), good.key)
  const file = join(m.root, 'sidecar.yaml')
  writeFileSync(file, config(m.dir, true))
  const cli = startCli(['--config', file])
  t.teardown(() => cli.kill())
  await cli.waitFor(/"msg":"listening"/)

  // a key that does not match: refused on SIGHUP, the old material stays
  const other = await makeLeaf(m.ca, { service: 'users' })
  const next = await makeLeaf(m.ca, { service: 'users' })
  replace(join(m.dir, 'key.pem'), other.key)
  cli.child.kill('SIGHUP')
  await cli.waitFor(/"msg":"config reload refused"/)
  t.match(cli.stdout(), new RegExp(`tls\\.key: ${m.dir}/key\\.pem: the private key does not match the certificate`))

  // the matching certificate arrives: the watch (or the next signal) swaps it in
  replace(join(m.dir, 'cert.pem'), other.cert)
  await cli.waitFor(/"msg":"tls: certificates rotated"/)
  t.match(cli.stdout(), /"reason":"files changed"/)

  replace(join(m.dir, 'key.pem'), next.key)
  replace(join(m.dir, 'cert.pem'), next.cert)
  cli.child.kill('SIGHUP')
  await cli.waitFor(/"msg":"config reloaded"/)
  const out = cli.stdout() + cli.stderr()
  t.notMatch(out, /PRIVATE KEY/)
  for (const pem of [other.key, next.key]) for (const line of keyBody(pem)) t.notOk(out.includes(line), 'no key bytes in logs')
  cli.child.kill('SIGTERM')
  t.equal((await cli.exited).code, 0)
})
