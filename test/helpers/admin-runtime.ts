/**
 * A whole commy (Runtime: sidecar + plugins + admin server) in the test process, from YAML text
 * written to a temp file (so POST /v1/reload and file watching read it again). Ports 0; log
 * lines (warn and above) captured in memory. Plus small HTTP helpers for the admin API.
 */
import { writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { loadConfigFile } from '../../src/config/load.js'
import { builtinStrategies } from '../../src/balancer/registry.js'
import { Runtime } from '../../src/runtime.js'
import { tempFile } from './cli.js'
import { captureLogs } from './sidecar.js'
import type { AdminBody } from './admin-body.js'
import { removeTempDir } from './temp.js'

export interface TestRuntime {
  readonly runtime: Runtime
  /** The config file (rewrite it with `write`). */
  readonly file: string
  /** Log lines at warn and above. */
  readonly lines: Record<string, unknown>[]
  /** `http://127.0.0.1:port` of the admin server (after start). */
  admin(): string
  /** Port of the first data listener (after start). */
  port(): number
  write(yaml: string): void
  stop(): Promise<void>
}

export function createRuntime(yaml: string): TestRuntime {
  const file = tempFile('sidecar.yaml', yaml)
  const strategies = builtinStrategies().names()
  const load = () => loadConfigFile(file, { env: {}, strategies })
  const { logs, lines } = captureLogs()
  const runtime = new Runtime({ config: load(), loadConfig: load, logs })
  return {
    runtime,
    file,
    lines,
    admin: () => {
      const url = runtime.admin.url()
      if (url === undefined) throw new Error('admin server not started')
      return url
    },
    port: () => runtime.sidecar.address().port,
    write: (text) => writeFileSync(file, text),
    stop: async () => {
      await runtime.stop()
      removeTempDir(dirname(file))
    },
  }
}

/** createRuntime + start. */
export async function startRuntime(yaml: string): Promise<TestRuntime> {
  const r = createRuntime(yaml)
  await r.runtime.start()
  return r
}

export interface AdminReply {
  readonly status: number
  readonly headers: Headers
  readonly text: string
  readonly body: AdminBody
}

/** One admin request (fetch: loopback only); JSON bodies parsed. */
export async function adminCall(base: string, path: string, init: RequestInit & { token?: string } = {}): Promise<AdminReply> {
  const headers = new Headers(init.headers)
  if (init.token !== undefined) headers.set('authorization', `Bearer ${init.token}`)
  const res = await fetch(`${base}${path}`, { ...init, headers, signal: AbortSignal.timeout(10_000) })
  const text = await res.text()
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    body = undefined
  }
  return { status: res.status, headers: res.headers, text, body: body as AdminBody }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
