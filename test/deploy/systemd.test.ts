/**
 * deploy/systemd/commy.service: the directives the README promises, and `systemd-analyze verify`
 * on a copy whose ExecStart/ExecReload point at an executable this test creates (verify checks
 * that the binary exists). Skipped, saying so, where systemd-analyze is not installed.
 */
import t from 'tap'
import { execFile } from 'node:child_process'
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ROOT } from '../helpers/cli.js'
import { tempDir } from '../helpers/temp.js'

const UNIT = join(ROOT, 'deploy/systemd/commy.service')
const text = readFileSync(UNIT, 'utf8')
const INSTALLED = '/opt/commy/bin/commy'

/** Every `Key=value` of a section, in order (a key may repeat). */
function directives(section: string): [string, string][] {
  const out: [string, string][] = []
  let current = ''
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue
    const s = /^\[(.+)\]$/.exec(line)
    if (s) current = s[1]!
    else if (current === section) {
      const i = line.indexOf('=')
      out.push([line.slice(0, i), line.slice(i + 1)])
    }
  }
  return out
}
const service = directives('Service')
const values = (key: string) => service.filter(([k]) => k === key).map(([, v]) => v)
const value = (key: string) => values(key).at(-1)

t.test('restart, reload, secrets and the install path the README documents', async (t) => {
  t.equal(value('ExecStart'), `${INSTALLED} --config /etc/commy/sidecar.yaml`, 'absolute path of the npm pack install; no registry name')
  t.notMatch(text, /npm i(nstall)? -g commy\b/, 'no `npm i -g commy` (no registry serves it)')
  t.equal(value('Restart'), 'on-failure')
  t.equal(value('RestartPreventExitStatus'), '2', 'an invalid config (exit 2) does not restart-loop')
  t.same(values('ExecReload'), [`${INSTALLED} validate /etc/commy/sidecar.yaml`, '/bin/kill -HUP $MAINPID'], 'reload refuses a bad file, then SIGHUP')
  t.equal(value('EnvironmentFile'), '-/etc/commy/commy.env', 'secrets in an optional env file')
  t.equal(value('KillSignal'), 'SIGTERM')
  t.ok(Number(value('TimeoutStopSec')) > 31, 'longer than the default drainTimeout (30 s) + drainGrace (1 s)')
})

t.test('hardening', async (t) => {
  const expected: Record<string, string> = {
    DynamicUser: 'yes',
    NoNewPrivileges: 'yes',
    CapabilityBoundingSet: '',
    AmbientCapabilities: '',
    ProtectSystem: 'strict',
    ProtectHome: 'yes',
    PrivateTmp: 'yes',
    PrivateDevices: 'yes',
    RestrictAddressFamilies: 'AF_INET AF_INET6 AF_UNIX',
    LockPersonality: 'yes',
    MemoryDenyWriteExecute: 'no',
    RestrictNamespaces: 'yes',
    RestrictSUIDSGID: 'yes',
    SystemCallArchitectures: 'native',
  }
  for (const [k, v] of Object.entries(expected)) t.equal(value(k), v, `${k}=${v}`)
  t.ok(values('SystemCallFilter').includes('@system-service'))
  t.match(text, /MemoryDenyWriteExecute=no/, "W^X stays off: V8's JIT needs it")
})

const analyze = ['/usr/bin/systemd-analyze', '/bin/systemd-analyze'].find((p) => existsSync(p)) ?? ''

t.test('systemd-analyze verify', { skip: analyze === '' ? 'systemd-analyze is not installed here: the unit is not verified' : false }, async (t) => {
  const dir = tempDir('commy-systemd-')
  const bin = join(dir, 'commy')
  writeFileSync(bin, '#!/bin/sh\nexit 0\n')
  chmodSync(bin, 0o755)
  const unit = join(dir, 'commy.service')
  writeFileSync(unit, text.replaceAll(INSTALLED, bin))
  const verify = (file: string) =>
    new Promise<{ code: number; stderr: string }>((resolve) => {
      execFile(analyze, ['verify', file], { timeout: 30_000 }, (err, _stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stderr })
      })
    })
  const r = await verify(unit)
  // verify also reports on other units of the host; only lines about ours count
  const ours = r.stderr.split('\n').filter((l) => l.includes('commy.service') || l.includes(bin))
  t.equal(r.code, 0, r.stderr)
  t.same(ours, [], 'no warning about commy.service (unknown keys, bad values)')

  // and it does catch a mistake
  const bad = join(dir, 'bad.service')
  writeFileSync(bad, text.replaceAll(INSTALLED, bin).replace('RestartPreventExitStatus=2', 'RestartPreventExitStatus=2\nRestartPrevent=2'))
  const b = await verify(bad)
  t.match(b.stderr, /Unknown key.*RestartPrevent/, 'a misspelt key is reported')
})
