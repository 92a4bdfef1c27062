/**
 * Test tiers: which test files are integration tests. Everything else under test/ named
 * `*.test.ts` is a unit test: it opens no socket and spawns no process, and the unit tier
 * enforces that (test/setup/no-sockets.mjs makes listen/connect/spawn throw).
 *
 * A test belongs here when it listens, connects (HTTP, TCP, UDP) or starts a child process.
 * Entries are paths relative to the project root; one ending in `/` names a whole folder.
 * Keep test/ mirroring src/: list the file here rather than moving it.
 */
export const integration = [
  'test/integration/', // scenarios: whole commy in one process or several, real loopback traffic
  'test/cli/', // the built CLI as a child process
  // one file per entry, in src/ order
  'test/admin/dashboard-golden.test.ts',
  'test/admin/dashboard.test.ts',
  'test/admin/log-level.test.ts',
  'test/admin/probe-server.test.ts',
  'test/admin/server.test.ts',
  'test/admin/source.test.ts',
  'test/admin/wiring.test.ts',
  'test/balancer/consistent-hash-process.test.ts',
  'test/demo/demo.test.ts',
  'test/health/active-monitor.test.ts',
  'test/health/alerts.test.ts',
  'test/health/checks.test.ts',
  'test/health/local-services.test.ts',
  'test/plugins/health.test.ts',
  'test/health/wiring.test.ts',
  'test/membership/gossip-flood.test.ts',
  'test/membership/processes.test.ts',
  'test/membership/seed-dns.test.ts',
  'test/membership/stream-limits.test.ts',
  'test/membership/udp-transport.test.ts',
  'test/proxy/abort.test.ts',
  'test/proxy/balancing.test.ts',
  'test/proxy/error-codes.test.ts',
  'test/proxy/framing.test.ts',
  'test/proxy/headers.test.ts',
  'test/proxy/h2-drain.test.ts',
  'test/proxy/h2-floods.test.ts',
  'test/proxy/h2-inbound.test.ts',
  'test/proxy/h2-listener.test.ts',
  'test/proxy/inbound.test.ts',
  'test/proxy/lifecycle.test.ts',
  'test/proxy/reload-listeners.test.ts',
  'test/proxy/reload.test.ts',
  'test/proxy/retry.test.ts',
  'test/proxy/routing.test.ts',
  'test/proxy/slow-clients.test.ts',
  'test/proxy/timeouts.test.ts',
  'test/proxy/upstream-framing.test.ts',
  'test/resilience/handles.test.ts',
  'test/tls/rotation.test.ts',
  'test/transport/h2-upstream.test.ts',
  'test/transport/mesh-tls.test.ts',
  'test/transport/undici.test.ts',
  'test/transport/upgrade.test.ts',
  'test/deploy/image.test.ts', // deploy/docker: the image's entrypoint run with node
  'test/deploy/pack.test.ts', // npm pack, installed into a temporary prefix
  'test/deploy/systemd.test.ts', // systemd-analyze verify
  'test/deploy/observability.test.ts', // promtool; a running sidecar's /metrics
]

import { readdirSync } from 'node:fs'
import { dirname, isAbsolute, join, relative, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The project root (this file lives in test/). */
export const ROOT = dirname(dirname(fileURLToPath(import.meta.url)))

const posix = (p) => p.split(sep).join('/')

/** 'unit' or 'integration' for a test file (absolute, or relative to the project root). */
export function tierOf(file) {
  const rel = posix(relative(ROOT, isAbsolute(file) ? file : join(ROOT, file)))
  return integration.some((entry) => (entry.endsWith('/') ? rel.startsWith(entry) : rel === entry)) ? 'integration' : 'unit'
}

/** Every `*.test.ts` under test/ (helpers, fixtures and setup hold none), sorted. */
export function testFiles() {
  const out = []
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name)
      if (e.isDirectory()) walk(p)
      else if (e.name.endsWith('.test.ts')) out.push(posix(relative(ROOT, p)))
    }
  }
  walk(join(ROOT, 'test'))
  return out.sort()
}

/** Entries that name no existing test file or folder (a renamed or deleted test). */
export function staleEntries() {
  const files = testFiles()
  return integration.filter((entry) => !files.some((f) => (entry.endsWith('/') ? f.startsWith(entry) : f === entry)))
}
