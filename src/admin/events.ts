/**
 * Server-sent events for the dashboard: every `intervalMs` one snapshot is built and serialised,
 * then written to every open stream. The ticker runs only while someone listens. A client that
 * stops reading (buffer over `maxBufferedBytes`) is dropped rather than buffered without bound.
 * `publish(kind, data)` sends a named event (`event: <kind>`) at once, e.g. the operator's actions
 * for the dashboard's timeline; the last `keepEvents` are replayed to a stream that opens later.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Clock } from '../clock.js'
import { Ticker } from '../ticker.js'

export interface EventStreamOptions {
  readonly intervalMs?: number
  readonly maxClients?: number
  readonly maxBufferedBytes?: number
  /** Named events kept for streams opened later. Default 50. */
  readonly keepEvents?: number
  /** Called when building a snapshot throws (the tick is skipped). */
  readonly onError?: (err: unknown) => void
}

export class EventStream {
  private readonly build: () => unknown
  private readonly ticker: Ticker
  private readonly intervalMs: number
  private readonly maxClients: number
  private readonly maxBuffered: number
  private readonly onError: (err: unknown) => void
  private readonly clients = new Set<ServerResponse>()
  private seq = 0
  private stopped = false
  /** The last named events, oldest first, as frames. */
  private readonly recent: string[] = []
  private readonly keepEvents: number

  constructor(build: () => unknown, clock: Clock, options: EventStreamOptions = {}) {
    this.build = build
    this.intervalMs = options.intervalMs ?? 1000
    this.maxClients = options.maxClients ?? 32
    this.maxBuffered = options.maxBufferedBytes ?? 1 << 20
    this.onError = options.onError ?? (() => {})
    this.keepEvents = options.keepEvents ?? 50
    this.ticker = new Ticker({ clock, interval: this.intervalMs, run: () => this.tick() })
  }

  get size(): number {
    return this.clients.size
  }

  /** Takes over the response as an event stream. False when full or stopped (caller answers 503). */
  add(req: IncomingMessage, res: ServerResponse): boolean {
    if (this.stopped || this.clients.size >= this.maxClients) return false
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
      'x-content-type-options': 'nosniff',
    })
    res.write(`retry: ${this.intervalMs}\n\n`)
    this.clients.add(res)
    const remove = () => {
      this.clients.delete(res)
      if (this.clients.size === 0) this.ticker.stop()
    }
    req.on('close', remove)
    res.on('close', remove)
    for (const f of this.recent) res.write(f)
    const frame = this.frame()
    if (frame !== undefined) res.write(frame)
    this.ticker.start()
    return true
  }

  /** Sends a named event to every open stream now, and keeps it for streams opened later. */
  publish(kind: string, data: unknown): void {
    if (this.stopped) return
    const frame = `event: ${kind}\ndata: ${JSON.stringify(data)}\n\n`
    this.recent.push(frame)
    if (this.recent.length > this.keepEvents) this.recent.shift()
    for (const res of this.clients) res.write(frame)
  }

  /** Ends every stream and the timer; harmless twice. */
  stop(): void {
    this.stopped = true
    this.ticker.stop()
    for (const res of this.clients) res.end()
    this.clients.clear()
  }

  private frame(): string | undefined {
    try {
      return `id: ${++this.seq}\ndata: ${JSON.stringify(this.build())}\n\n`
    } catch (err) {
      this.onError(err)
      return undefined
    }
  }

  private tick(): void {
    if (this.stopped || this.clients.size === 0) return this.ticker.stop()
    const frame = this.frame()
    if (frame !== undefined) {
      for (const res of this.clients) {
        if (res.writableLength > this.maxBuffered) res.destroy()
        else res.write(frame)
      }
    }
    if (this.clients.size === 0) this.ticker.stop()
  }
}
