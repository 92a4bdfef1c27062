/**
 * Logging of one sidecar (never a global logger): the pino component logger at the configured
 * level, and the access-log stream that proxy/access-log.ts writes one line per request to.
 * Both go to the configured destination through one asynchronous sonic-boom stream
 * (pino.destination), so logging never blocks the data path. Access lines are batched in memory
 * (`LineBatch`: one write per 16 KiB, and at least every 200 ms): sonic-boom's own buffering
 * re-measures its pending buffer on every write, which costs more per line than the request it logs.
 *
 * `log.format: text` turns component lines into log-text.ts's terminal form on their way out
 * (pino still builds JSON: component lines are rare); access lines are built as text directly.
 * `reconfigure()` applies a reloaded `log` section at once: level (log-levels.ts; per-component
 * overrides set at run time stay), format, `accessLog`, and `destination` (a new stream is opened
 * and the old one finishes its writes and closes).
 *
 * Memory stays bounded when the destination cannot keep up (a slow disk, a pipe nobody reads):
 * the stream holds at most `MAX_BUFFERED_CHARS` not yet written; what would go past it is
 * dropped (sonic-boom's `maxLength`), and the access lines among it are counted (`dropped()`,
 * `commy_access_log_dropped_total`). Nothing is dropped while the sink keeps up.
 */
import pino, { type DestinationStream, type Logger } from 'pino'
import type { LogConfig } from './config/types.js'
import { jsonLinesToText } from './log-text.js'
import { LogLevels } from './log-levels.js'

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
  /** Run-time levels (default and per component); absent: the runtime follows `logger` itself. */
  readonly levels?: LogLevels
  /** What the access observer reads per request (`log.accessLog`, `log.format`); absent: on, JSON. */
  readonly accessSettings?: AccessSettings
  /** Applies a reloaded `log` section (level, format, accessLog, destination). */
  reconfigure?(config: LogConfig): void
}

/** The reloadable part of `log` the access observer reads per request. */
export interface AccessSettings {
  /** `log.accessLog`. */
  enabled: boolean
  /** `log.format`. */
  format: 'json' | 'text'
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
/** How an access line of `log.format: text` starts after its time (log-text.ts's columns). */
const ACCESS_TEXT_MARK = ' INFO  access '

function count(text: string, mark: string): number {
  let n = 0
  for (let i = text.indexOf(mark); i !== -1; i = text.indexOf(mark, i + mark.length)) n++
  return n
}

/** Access lines in a dropped chunk (component lines dropped with them are not counted). */
export function accessLinesIn(chunk: string | Buffer): number {
  const text = typeof chunk === 'string' ? chunk : chunk.toString()
  return count(text, ACCESS_MARK) + count(text, ACCESS_TEXT_MARK)
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

/**
 * The one stream every line goes through: writes to the current destination (swapped by a
 * reload) and, in text format, turns pino's JSON component lines into text lines.
 */
class Output {
  constructor(
    public target: DestinationStream,
    public text: boolean,
  ) {}

  /** For access lines and batches: already in the right format. */
  readonly raw: DestinationStream = { write: (s: string) => this.target.write(s) }
  /** For pino's component lines. */
  readonly component: DestinationStream = { write: (s: string) => this.target.write(this.text ? jsonLinesToText(s) : s) }
}

export function createLogs(config: LogConfig, options: LogOptions = {}): Logs {
  const maxLength = options.maxBufferedChars ?? MAX_BUFFERED_CHARS
  let dropped = 0
  const open = (destination: string): Boom => {
    const b = boom(destination, maxLength)
    b.on('drop', (chunk) => (dropped += accessLinesIn(chunk)))
    return b
  }
  let b: Boom | undefined = options.destination === undefined ? open(config.destination) : undefined
  let destination = config.destination
  const out = new Output(options.destination ?? b!, config.format === 'text')
  const root = pino({ level: config.level }, out.component)
  const logger = options.base !== undefined ? root.child(options.base) : root
  const levels = new LogLevels(logger)
  const batch = new LineBatch(out.raw)
  const accessSettings: AccessSettings = { enabled: config.accessLog, format: config.format }
  const retired = new Set<Promise<void>>()
  let level = config.level
  let closing: Promise<void> | undefined
  return {
    logger,
    access: batch,
    levels,
    accessSettings,
    dropped: () => dropped,
    reconfigure(next) {
      if (next.level !== level) levels.setDefault(next.level)
      level = next.level
      accessSettings.enabled = next.accessLog
      accessSettings.format = next.format
      out.text = next.format === 'text'
      if (b !== undefined && next.destination !== destination && closing === undefined) {
        batch.flush()
        const old = b
        b = open(next.destination)
        out.target = b
        destination = next.destination
        const done = closeBoom(old)
        retired.add(done)
        void done.then(() => retired.delete(done))
      }
    },
    close() {
      closing ??= (async () => {
        batch.close()
        await Promise.all([...retired, b && closeBoom(b)])
      })()
      return closing
    },
  }
}
