/**
 * Loggers of one sidecar (never a global logger): the component logger at the configured level,
 * and the access log (one JSON line per request, at info, when `log.accessLog` is on). Both write
 * to the configured destination through one asynchronous sonic-boom stream (pino.destination),
 * so logging never blocks the data path.
 */
import pino, { type DestinationStream, type Logger } from 'pino'
import type { LogConfig } from './config/types.js'

export interface Logs {
  readonly logger: Logger
  /** undefined when the access log is off. */
  readonly access: Logger | undefined
  /** Writes what is buffered and closes the destination (stdout/stderr stay open). Idempotent. */
  close(): Promise<void>
}

export interface LogOptions {
  /** Write here instead of `config.destination` (tests). */
  readonly destination?: DestinationStream
  /** Fields on every component log line. */
  readonly base?: Record<string, unknown>
}

type Boom = DestinationStream & {
  end(): void
  once(event: 'close' | 'error', fn: () => void): void
  destroyed?: boolean
}

export function createLogs(config: LogConfig, options: LogOptions = {}): Logs {
  let boom: Boom | undefined
  let dest: DestinationStream
  if (options.destination !== undefined) dest = options.destination
  else {
    const d = config.destination
    const fd = d === 'stdout' ? 1 : d === 'stderr' ? 2 : undefined
    boom = pino.destination(fd !== undefined ? { dest: fd, sync: false } : { dest: d, sync: false, mkdir: true }) as unknown as Boom
    dest = boom
  }
  const root = pino({ level: config.level }, dest)
  const logger = options.base !== undefined ? root.child(options.base) : root
  const access = config.accessLog ? pino({ level: 'info', base: { log: 'access' } }, dest) : undefined
  let closing: Promise<void> | undefined
  return {
    logger,
    access,
    close() {
      if (closing) return closing
      closing = new Promise<void>((resolve) => {
        if (boom === undefined || boom.destroyed) return resolve()
        boom.once('close', resolve)
        boom.once('error', resolve)
        try {
          boom.end()
        } catch {
          resolve()
        }
      })
      return closing
    },
  }
}
