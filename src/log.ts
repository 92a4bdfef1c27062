/**
 * Logging of one sidecar (never a global logger): the pino component logger at the configured
 * level, and the access-log stream (when `log.accessLog` is on) that proxy/access-log.ts writes
 * one pino-format JSON line per request to. Both go to the configured destination through one
 * asynchronous sonic-boom stream (pino.destination), so logging never blocks the data path.
 * Access lines are batched in memory (`LineBatch`: one write per 16 KiB, and at least every
 * 200 ms): sonic-boom's own buffering re-measures its pending buffer on every write, which costs
 * more per line than the request it logs.
 *
 * Memory stays bounded when the destination cannot keep up (a slow disk, a pipe nobody reads):
 * the stream holds at most `MAX_BUFFERED_CHARS` not yet written; what would go past it is
 * dropped (sonic-boom's `maxLength`), and the access lines among it are counted (`dropped()`,
 * `commy_access_log_dropped_total`). Nothing is dropped while the sink keeps up.
 */
import pino, { type DestinationStream, type Logger } from 'pino'
import type { LogConfig } from './config/types.js'

/** Takes whole lines (ending in a newline). */
export interface LineStream {
  write(line: string): void
}

export interface Logs {
  readonly logger: Logger
  /** Where access-log lines go; undefined when the access log is off. */
  readonly access: LineStream | undefined
  /** Access-log lines dropped because the destination could not keep up. */
  dropped(): number
  /** Writes what is buffered and closes the destinations (stdout/stderr stay open). Idempotent. */
  close(): Promise<void>
}

export interface LogOptions {
  /** Write here instead of `config.destination` (tests). */
  readonly destination?: DestinationStream
  /** Characters the destination may buffer before dropping (default MAX_BUFFERED_CHARS). */
  readonly maxBufferedChars?: number
  /** Fields on every component log line. */
  readonly base?: Record<string, unknown>
}

type Boom = DestinationStream & {
  end(): void
  once(event: 'close' | 'error', fn: () => void): void
  on(event: 'drop', fn: (data: string | Buffer) => void): void
  destroyed?: boolean
}

/** Access-log batching: write once this many characters wait, and at least this often. */
const BATCH_CHARS = 16384
const BATCH_FLUSH_MS = 200
/** Characters the destination may hold unwritten before new writes are dropped (4 Mi: about 2 s of an access log at 7,000 req/s). */
export const MAX_BUFFERED_CHARS = 4 * 1024 * 1024

function boom(destination: string, maxLength: number): Boom {
  const fd = destination === 'stdout' ? 1 : destination === 'stderr' ? 2 : undefined
  return pino.destination(fd !== undefined ? { dest: fd, sync: false, maxLength } : { dest: destination, sync: false, mkdir: true, maxLength })
}

const ACCESS_MARK = '"log":"access"'

/** Access lines in a dropped chunk (component lines dropped with them are not counted). */
export function accessLinesIn(chunk: string | Buffer): number {
  const text = typeof chunk === 'string' ? chunk : chunk.toString()
  let n = 0
  for (let i = text.indexOf(ACCESS_MARK); i !== -1; i = text.indexOf(ACCESS_MARK, i + ACCESS_MARK.length)) n++
  return n
}

/** Collects whole lines and hands them to `target` in one write (when full, on a timer, on close). */
export class LineBatch implements DestinationStream {
  private lines: string[] = []
  private chars = 0
  private readonly timer: NodeJS.Timeout
  constructor(
    private readonly target: DestinationStream,
    private readonly maxChars = BATCH_CHARS,
    flushMs = BATCH_FLUSH_MS,
  ) {
    this.timer = setInterval(() => this.flush(), flushMs)
    this.timer.unref()
  }

  write(line: string): void {
    this.lines.push(line)
    this.chars += line.length
    if (this.chars >= this.maxChars) this.flush()
  }

  flush(): void {
    if (this.lines.length === 0) return
    const text = this.lines.length === 1 ? this.lines[0]! : this.lines.join('')
    this.lines = []
    this.chars = 0
    this.target.write(text)
  }

  /** Flushes and stops the timer. */
  close(): void {
    clearInterval(this.timer)
    this.flush()
  }
}

function closeBoom(b: Boom): Promise<void> {
  return new Promise<void>((resolve) => {
    if (b.destroyed) return resolve()
    b.once('close', resolve)
    b.once('error', resolve)
    try {
      b.end()
    } catch {
      resolve()
    }
  })
}

export function createLogs(config: LogConfig, options: LogOptions = {}): Logs {
  let b: Boom | undefined
  const dest = options.destination ?? (b = boom(config.destination, options.maxBufferedChars ?? MAX_BUFFERED_CHARS))
  let dropped = 0
  b?.on('drop', (chunk) => (dropped += accessLinesIn(chunk)))
  const root = pino({ level: config.level }, dest)
  const logger = options.base !== undefined ? root.child(options.base) : root
  const batch = config.accessLog ? new LineBatch(dest) : undefined
  let closing: Promise<void> | undefined
  return {
    logger,
    access: batch,
    dropped: () => dropped,
    close() {
      closing ??= (async () => {
        batch?.close()
        if (b) await closeBoom(b)
      })()
      return closing
    },
  }
}
