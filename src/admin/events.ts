/**
 * Server-sent events for the dashboard: every `intervalMs` one snapshot is built and serialised,
 * then written to every open stream. The timer runs only while someone listens. A client that
 * stops reading (buffer over `maxBufferedBytes`) is dropped rather than buffered without bound.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Clock, Timer } from '../clock.js'

export interface EventStreamOptions {
  readonly intervalMs?: number
  readonly maxClients?: number
  readonly maxBufferedBytes?: number
  /** Called when building a snapshot throws (the tick is skipped). */
  readonly onError?: (err: unknown) => void
}

export class EventStream {
  private readonly build: () => unknown
  private readonly clock: Clock
  private readonly intervalMs: number
  private readonly maxClients: number
  private readonly maxBuffered: number
  private readonly onError: (err: unknown) => void
  private readonly clients = new Set<ServerResponse>()
  private timer: Timer | undefined
  private seq = 0
  private stopped = false

  constructor(build: () => unknown, clock: Clock, options: EventStreamOptions = {}) {
    this.build = build
    this.clock = clock
    this.intervalMs = options.intervalMs ?? 1000
    this.maxClients = options.maxClients ?? 32
    this.maxBuffered = options.maxBufferedBytes ?? 1 << 20
    this.onError = options.onError ?? (() => {})
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
      if (this.clients.size === 0) this.cancel()
    }
    req.on('close', remove)
    res.on('close', remove)
    const frame = this.frame()
    if (frame !== undefined) res.write(frame)
    if (!this.timer) this.schedule()
    return true
  }

  /** Ends every stream and the timer; harmless twice. */
  stop(): void {
    this.stopped = true
    this.cancel()
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

  private schedule(): void {
    this.timer = this.clock.setTimer(() => this.tick(), this.intervalMs)
  }

  private cancel(): void {
    this.timer?.cancel()
    this.timer = undefined
  }

  private tick(): void {
    this.timer = undefined
    if (this.stopped || this.clients.size === 0) return
    const frame = this.frame()
    if (frame !== undefined) {
      for (const res of this.clients) {
        if (res.writableLength > this.maxBuffered) res.destroy()
        else res.write(frame)
      }
    }
    if (this.clients.size > 0) this.schedule()
  }
}
