/**
 * A whole commy (Runtime: sidecar + resilience, health, gossip and admin plugins) in this process
 * for integration tests: config given as an object (validated by the real loader), listeners and
 * the admin server on port 0, component log lines (info and above) and access lines kept in memory.
 * Also a small load generator (undici Pool) with bounded concurrency over keep-alive connections.
 */
import http from 'node:http'
import { Writable } from 'node:stream'
import pino from 'pino'
import { Pool } from 'undici'
import { parseConfig } from '../../src/config/load.js'
import type { SidecarConfig } from '../../src/config/types.js'
import type { Logs } from '../../src/log.js'
import { Runtime, type RuntimeOptions } from '../../src/runtime.js'

export interface TestRuntime {
  readonly runtime: Runtime
  readonly config: SidecarConfig
  /** Port of the first listener. */
  readonly port: number
  /** Component log records (info and above). */
  readonly lines: Record<string, unknown>[]
  /** Access-log records. */
  readonly access: Record<string, unknown>[]
  stop(): Promise<void>
}

function sink(into: Record<string, unknown>[]): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l.trim() !== '') into.push(JSON.parse(l) as Record<string, unknown>)
      cb()
    },
  })
}

/** `raw` is a sidecar.yaml document as an object; `admin.listen` defaults to 127.0.0.1:0. */
export async function startRuntime(raw: Record<string, unknown>, options: Partial<Omit<RuntimeOptions, 'config'>> = {}): Promise<TestRuntime> {
  const doc = { admin: { listen: '127.0.0.1:0' }, ...raw }
  const config = parseConfig(JSON.stringify(doc), 'test.yaml')
  const lines: Record<string, unknown>[] = []
  const access: Record<string, unknown>[] = []
  const accessSink = sink(access)
  const logs: Logs = {
    logger: pino({ level: 'info' }, sink(lines)),
    access: { write: (line: string) => void accessSink.write(line) },
    dropped: () => 0,
    close: async () => {},
  }
  const runtime = new Runtime({ config, logs, ...options })
  await runtime.start()
  return { runtime, config, port: runtime.sidecar.address().port, lines, access, stop: () => runtime.stop() }
}

export interface LoadReply {
  readonly status: number
  readonly body: string
  readonly headers: http.IncomingHttpHeaders
}

export interface LoadOptions {
  readonly port: number
  readonly total: number
  readonly concurrency: number
  /** Request `i`'s path, method, headers and body. */
  readonly request?: (i: number) => { path?: string; method?: string; headers?: http.OutgoingHttpHeaders; body?: string }
  /** Called with each reply (or the client error) in completion order. */
  readonly onReply?: (i: number, reply: LoadReply | Error) => void
  /** Give up on one request after this long (default 10 s). */
  readonly timeoutMs?: number
}

/** Sends `total` requests with at most `concurrency` in flight over keep-alive connections (an undici Pool). */
export async function load(o: LoadOptions): Promise<{ ok: number; failed: number; statuses: Map<number, number>; errors: Error[] }> {
  const pool = new Pool(`http://127.0.0.1:${o.port}`, { connections: o.concurrency, headersTimeout: o.timeoutMs ?? 10_000, bodyTimeout: o.timeoutMs ?? 10_000 })
  const statuses = new Map<number, number>()
  const errors: Error[] = []
  let next = 0
  let ok = 0
  let failed = 0
  const one = async (i: number) => {
    const spec = o.request?.(i) ?? {}
    try {
      const res = await pool.request({ path: spec.path ?? '/', method: spec.method ?? 'GET', headers: spec.headers as Record<string, string>, body: spec.body })
      const body = await res.body.text()
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1)
      if (res.statusCode >= 200 && res.statusCode < 400) ok++
      else failed++
      o.onReply?.(i, { status: res.statusCode, body, headers: res.headers })
    } catch (err) {
      failed++
      const e = err instanceof Error ? err : new Error(String(err))
      errors.push(e)
      o.onReply?.(i, e)
    }
  }
  const worker = async () => {
    while (next < o.total) await one(next++)
  }
  try {
    await Promise.all(Array.from({ length: Math.min(o.concurrency, o.total) }, worker))
  } finally {
    await pool.destroy()
  }
  return { ok, failed, statuses, errors }
}

export interface KillableUpstream {
  readonly name: string
  readonly port: number
  /** `127.0.0.1:port` */
  readonly address: string
  /** Requests received (across restarts). */
  readonly seen: { url: string; method: string; headers: http.IncomingHttpHeaders }[]
  readonly alive: boolean
  /** Stops listening and cuts every connection (new connections are refused). */
  kill(): Promise<void>
  /** Listens again on the same port. */
  revive(): Promise<void>
  close(): Promise<void>
}

/** An upstream that can die and come back on the same port; answers `{"upstream": name}` unless `handler` is given. */
export async function startKillable(
  name: string,
  handler?: (req: http.IncomingMessage, res: http.ServerResponse) => void,
): Promise<KillableUpstream> {
  const seen: KillableUpstream['seen'] = []
  const answer =
    handler ??
    ((req: http.IncomingMessage, res: http.ServerResponse) => {
      req.resume()
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/json', 'x-upstream': name }).end(JSON.stringify({ upstream: name })))
    })
  let server: http.Server | undefined
  let port = 0
  const listen = async () => {
    const s = http.createServer((req, res) => {
      seen.push({ url: req.url ?? '', method: req.method ?? '', headers: req.headers })
      answer(req, res)
    })
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject)
      s.listen(port, '127.0.0.1', () => resolve())
    })
    port = (s.address() as { port: number }).port
    server = s
  }
  const kill = () =>
    new Promise<void>((resolve) => {
      const s = server
      server = undefined
      if (s === undefined) return resolve()
      s.close(() => resolve())
      s.closeAllConnections()
    })
  await listen()
  return {
    name,
    port,
    address: `127.0.0.1:${port}`,
    seen,
    get alive() {
      return server !== undefined
    },
    kill,
    revive: listen,
    close: kill,
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

/** Polls `cond` every 5 ms until it holds or `ms` passes. */
export async function until(cond: () => boolean, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms
  while (Date.now() < end) {
    if (cond()) return true
    await sleep(5)
  }
  return cond()
}
