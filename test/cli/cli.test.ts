import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ROOT, runCli, tempFile } from '../helpers/cli.js'

const base = (route: string, service = '  a: { endpoints: [{ address: 127.0.0.1:1 }] }') => `# test config
listeners:
  - name: outbound
    listen: 127.0.0.1:0
    routes:
      - match: { host: a }
${route}
services:
${service}
`

/** Each case: config text, expected line, expected key path. */
const broken: Record<string, { text: string; line: number; path: string }> = {
  'bad YAML': { text: base('        service: a\n       timeout: 2s'), line: 8, path: '' },
  'unknown key': { text: base('        service: a\n        timeot: 2s'), line: 8, path: 'listeners[0].routes[0].timeot' },
  'wrong type': { text: base('        service: a', '  a: { endpoints: [{ address: 127.0.0.1:1, weight: heavy }] }'), line: 9, path: 'services.a.endpoints[0].weight' },
  'bad duration': { text: base('        service: a\n        timeout: 2 seconds'), line: 8, path: 'listeners[0].routes[0].timeout' },
  'missing service for a route': { text: base('        service: b'), line: 7, path: 'listeners[0].routes[0].service' },
}

t.test('--version, --help, keygen, schema', async (t) => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }
  const v = await runCli(['--version'])
  t.equal(v.code, 0)
  t.equal(v.stdout.trim(), pkg.version)
  const h = await runCli(['--help'])
  t.equal(h.code, 0)
  t.match(h.stdout, /commy validate FILE/)
  const k = await runCli(['keygen'])
  t.equal(k.code, 0)
  t.equal(Buffer.from(k.stdout.trim(), 'base64').length, 32, 'base64 of 32 bytes')
  t.not(k.stdout, (await runCli(['keygen'])).stdout, 'random')
  const s = await runCli(['schema'])
  t.equal(s.code, 0)
  const schema = JSON.parse(s.stdout) as { $id: string; properties: Record<string, unknown>; additionalProperties: boolean }
  t.equal(schema.additionalProperties, false)
  t.ok(schema.properties.listeners && schema.properties.services)
  const bad = await runCli(['--bogus'])
  t.equal(bad.code, 2, 'unknown argument: usage error')
})

t.test('validate: ok for a good file', async (t) => {
  const file = tempFile('ok.yaml', base('        service: a'))
  const r = await runCli(['validate', file])
  t.equal(r.code, 0)
  t.equal(r.stdout.trim(), 'ok')
  const missing = await runCli(['validate', '/nonexistent/commy.yaml'])
  t.equal(missing.code, 2)
  t.match(missing.stderr, /file not found/)
})

for (const [name, c] of Object.entries(broken)) {
  t.test(`config error (${name}): exit 2 with file:line and key path, from validate and from a start`, async (t) => {
    const file = tempFile('sidecar.yaml', c.text)
    const v = await runCli(['validate', file])
    t.equal(v.code, 2, 'validate exits 2')
    t.equal(v.stdout, '', 'nothing on stdout')
    t.match(v.stderr, `${file}:${c.line}`, 'file and line')
    if (c.path !== '') t.match(v.stderr, `: ${c.path}: `, 'key path')
    const run = await runCli(['--config', file])
    t.equal(run.code, 2, 'starting with it exits 2')
    t.equal(run.stderr, v.stderr, 'the same message as validate')
    if (name === 'unknown key') {
      const env = await runCli([], { env: { COMMY_CONFIG: file } })
      t.equal(env.code, 2, '$COMMY_CONFIG is used by default')
    }
  })
}
