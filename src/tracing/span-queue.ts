/**
 * The bounded queue between finished requests and the OTLP exporter. Spans wait here until a
 * batch is full or `delayMs` has passed, then go out in one export; one export is in flight at a
 * time. A full queue drops new spans (counted, never blocks the request path). A failing exporter
 * is logged once per episode (when it starts failing, and when it recovers), never thrown.
 * `stop()` exports what is queued, waits for it up to `stopWaitMs`, then shuts the exporter down.
 */
import { ExportResultCode, type ExportResult } from '@opentelemetry/core'
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base'
import type { Startable } from '../lifecycle.js'
import type { Logger } from 'pino'

export interface SpanQueueOptions {
  readonly exporter: SpanExporter
  readonly log: Logger
  /** Spans held at most (default 2048, as OpenTelemetry's BatchSpanProcessor). */
  readonly maxQueue?: number
  /** Spans per export at most (default 512). */
  readonly maxBatch?: number
  /** How long a span may wait for its batch (default 1000 ms). */
  readonly delayMs?: number
  /** How long stop() waits for the last exports (default 5000 ms). */
  readonly stopWaitMs?: number
}

/** What happened to the spans handed to the queue (read at scrape time). */
export interface SpanCounts {
  /** Accepted by the collector. */
  readonly exported: number
  /** Dropped because the queue was full. */
  readonly dropped: number
  /** In exports that failed. */
  readonly failed: number
}

export class SpanQueue implements Startable {
  private queue: ReadableSpan[] = []
  private timer: NodeJS.Timeout | null = null
  private inFlight: Promise<void> | null = null
  private failing = false
  private stopped = false
  private exported = 0
  private dropped = 0
  private failed = 0
  private readonly maxQueue: number
  private readonly maxBatch: number
  private readonly delayMs: number

  constructor(private readonly options: SpanQueueOptions) {
    this.maxQueue = options.maxQueue ?? 2048
    this.maxBatch = Math.min(options.maxBatch ?? 512, this.maxQueue)
    this.delayMs = options.delayMs ?? 1000
  }

  start(): void {}

  counts(): SpanCounts {
    return { exported: this.exported, dropped: this.dropped, failed: this.failed }
  }

  /** No room for `n` more spans (or stopped): the caller need not build them, only `drop(n)`. */
  full(n: number): boolean {
    return this.stopped || this.queue.length + n > this.maxQueue
  }

  /** Spans that were not even built: counted as dropped. */
  drop(n: number): void {
    this.dropped += n
  }

  /** Queues a request's spans (those that do not fit are dropped and counted). */
  add(spans: readonly ReadableSpan[]): void {
    if (this.stopped) {
      this.dropped += spans.length
      return
    }
    for (const s of spans) {
      if (this.queue.length >= this.maxQueue) this.dropped++
      else this.queue.push(s)
    }
    if (this.queue.length >= this.maxBatch) this.flushSoon(0)
    else this.flushSoon(this.delayMs)
  }

  private flushSoon(ms: number): void {
    if (this.inFlight !== null) return // the export's end looks at the queue again
    if (this.timer !== null) {
      if (ms > 0) return
      clearTimeout(this.timer)
    }
    this.timer = setTimeout(() => {
      this.timer = null
      void this.exportBatch()
    }, ms)
    this.timer.unref()
  }

  /** Sends one batch; when it is done, the next one is scheduled if spans are waiting. */
  private exportBatch(): Promise<void> {
    if (this.inFlight !== null) return this.inFlight
    if (this.queue.length === 0) return Promise.resolve()
    const batch = this.queue.length <= this.maxBatch ? this.queue : this.queue.slice(0, this.maxBatch)
    this.queue = batch === this.queue ? [] : this.queue.slice(batch.length)
    const done = new Promise<void>((resolve) => {
      try {
        this.options.exporter.export(batch, (result) => {
          this.settled(batch.length, result)
          resolve()
        })
      } catch (err) {
        this.settled(batch.length, { code: ExportResultCode.FAILED, error: err instanceof Error ? err : new Error(String(err)) })
        resolve()
      }
    })
    this.inFlight = done.then(() => {
      this.inFlight = null
      if (this.queue.length > 0 && !this.stopped) this.flushSoon(this.queue.length >= this.maxBatch ? 0 : this.delayMs)
    })
    return this.inFlight
  }

  private settled(n: number, result: ExportResult): void {
    if (result.code === ExportResultCode.SUCCESS) {
      this.exported += n
      if (this.failing) {
        this.failing = false
        this.options.log.info({ failedSpans: this.failed }, 'trace export recovered')
      }
      return
    }
    this.failed += n
    if (!this.failing) {
      this.failing = true
      this.options.log.warn({ err: result.error, spans: n }, 'trace export failing: spans are lost until the collector answers')
    }
  }

  /** Exports what is queued (bounded wait), then shuts the exporter down. Idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    if (this.timer !== null) {
      clearTimeout(this.timer)
      this.timer = null
    }
    const drain = async () => {
      while (this.inFlight !== null || this.queue.length > 0) await this.exportBatch()
      await this.options.exporter.shutdown()
    }
    let wait: NodeJS.Timeout | undefined
    // not unref'd: stop() resolves even when nothing else keeps the process alive (cleared when the drain ends)
    const timeout = new Promise<void>((resolve) => {
      wait = setTimeout(resolve, this.options.stopWaitMs ?? 5000)
    })
    try {
      await Promise.race([drain().catch(() => {}), timeout])
    } finally {
      clearTimeout(wait)
    }
    const left = this.queue.length
    if (left > 0) {
      this.dropped += left
      this.queue = []
    }
  }
}
