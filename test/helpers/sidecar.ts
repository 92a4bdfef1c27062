/**
 * An in-process sidecar for tests: config given as an object (validated by the real loader),
 * listeners on port 0, access-log lines captured in memory.
 */
import { Writable } from 'node:stream'
import pino from 'pino'
import { parseConfig } from '../../src/config/load.js'
import type { SidecarConfig } from '../../src/config/types.js'
import type { Logs } from '../../src/log.js'
import { Sidecar, type SidecarOptions } from '../../src/sidecar.js'

export interface TestSidecar {
  readonly sidecar: Sidecar
  readonly config: SidecarConfig
  /** Port of the first listener. */
  readonly port: number
  /** Access-log records written so far. */
  readonly access: Record<string, unknown>[]
  /** Component log lines (warn and above). */
  readonly lines: Record<string, unknown>[]
  stop(): Promise<void>
}

/** Captures JSON lines. */
export function captureLogs(): { logs: Logs; access: Record<string, unknown>[]; lines: Record<string, unknown>[] } {
  const access: Record<string, unknown>[] = []
  const lines: Record<string, unknown>[] = []
  const sink = (into: Record<string, unknown>[]) =>
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const l of chunk.toString().split('\n')) if (l.trim() !== '') into.push(JSON.parse(l) as Record<string, unknown>)
        cb()
      },
    })
  const accessSink = sink(access)
  const logs: Logs = {
    logger: pino({ level: 'warn' }, sink(lines)),
    access: { write: (line: string) => void accessSink.write(line) },
    dropped: () => 0,
    close: async () => {},
  }
  return { logs, access, lines }
}

export async function startSidecar(raw: Record<string, unknown>, options: Partial<Omit<SidecarOptions, 'config'>> = {}): Promise<TestSidecar> {
  const config = parseConfig(JSON.stringify(raw), 'test.yaml')
  const { logs, access, lines } = captureLogs()
  const sidecar = new Sidecar({ config, logs, requestIdPrefix: 'test', ...options })
  await sidecar.start()
  return { sidecar, config, port: sidecar.address().port, access, lines, stop: () => sidecar.stop() }
}

/** A one-listener config: `routes` and `services` as in sidecar.yaml. */
export function oneListener(routes: unknown[], services: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { listeners: [{ name: 'outbound', listen: '127.0.0.1:0', routes }], services, ...extra }
}

/** Polls `cond` every 10 ms until it holds or `ms` passes. */
export async function waitFor(cond: () => boolean, ms = 3000): Promise<boolean> {
  const end = Date.now() + ms
  while (Date.now() < end) {
    if (cond()) return true
    await new Promise((r) => setTimeout(r, 10))
  }
  return cond()
}
