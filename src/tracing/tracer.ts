/**
 * commy's tracer (the `Tracing` of proxy/trace.ts): decides per request, when it starts, whether
 * it is recorded (parent-based: an incoming traceparent's sampled flag wins; otherwise
 * `tracing.sampling`), gives it ids, writes a `traceparent` naming each try's span, and when the
 * request ends builds its spans (tracing/spans.ts) into the export queue (tracing/span-queue.ts).
 *
 * Unsampled requests cost a header at most: a valid incoming traceparent passes unchanged (commy
 * records no span, the upstream stays the caller's child), otherwise a fresh unsampled one is
 * added so the trace id still reaches the upstream.
 */
import type { Logger } from 'pino'
import type { Resource } from '@opentelemetry/resources'
import { resourceFromAttributes } from '@opentelemetry/resources'
import type { SpanExporter } from '@opentelemetry/sdk-trace-base'
import type { Clock, Random } from '../clock.js'
import type { TracingConfig } from '../config/types.js'
import type { Startable } from '../lifecycle.js'
import type { RequestRecord } from '../proxy/request-record.js'
import type { RequestTrace, Tracing } from '../proxy/trace.js'
import { otlpExporter } from './exporter.js'
import { Ids } from './ids.js'
import { ResilienceMarks } from './resilience-marks.js'
import { SpanQueue, type SpanCounts, type SpanQueueOptions } from './span-queue.js'
import { requestSpans, type TraceIds } from './spans.js'
import { formatTraceparent, parseTraceparent } from './traceparent.js'

export interface TracerOptions {
  readonly config: TracingConfig
  /** The node's name (`service.instance.id`). */
  readonly node: string
  /** commy's version (`service.version`, the instrumentation scope's version). */
  readonly version?: string
  readonly clock: Clock
  readonly random: Random
  readonly logger: Logger
  /** Queue sizes and delays (default: tracing/span-queue.ts). */
  readonly queue?: Omit<SpanQueueOptions, 'exporter' | 'log'>
  /** Builds the exporter (default: OTLP/HTTP JSON to `tracing.otlp`). */
  readonly exporter?: (otlp: TracingConfig['otlp']) => SpanExporter
}

/** The trace of an unsampled request: nothing to do per try or at the end. */
const UNSAMPLED: RequestTrace = { beforeTry() {}, end() {} }

export class Tracer implements Tracing, Startable {
  readonly marks: ResilienceMarks
  private config: TracingConfig
  private queue: SpanQueue
  private resource: Resource
  private readonly ids = new Ids()
  private readonly scope: { name: string; version?: string }
  /** Counts of queues replaced by a reload. */
  private past = { exported: 0, dropped: 0, failed: 0 }
  private readonly retiring = new Set<Promise<void>>()

  constructor(private readonly options: TracerOptions) {
    this.config = options.config
    this.marks = new ResilienceMarks(() => options.clock.now())
    this.scope = { name: 'commy', version: options.version }
    this.resource = this.makeResource()
    this.queue = this.makeQueue()
  }

  begin(headers: string[], startedAt: number): RequestTrace {
    let slot = -1
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i]!
      if (name.length !== 11 || (name !== 'traceparent' && name.toLowerCase() !== 'traceparent')) continue
      if (slot < 0) slot = i + 1
      else {
        headers.splice(i, 2) // one traceparent upstream
        i -= 2
      }
    }
    const parent = slot < 0 ? undefined : parseTraceparent(headers[slot]!)
    const sampled = parent !== undefined ? parent.sampled : this.options.random() < this.config.sampling
    if (!sampled) {
      if (parent !== undefined) return UNSAMPLED
      const value = formatTraceparent(this.ids.traceId(), this.ids.spanId(), false)
      if (slot < 0) headers.push('traceparent', value)
      else headers[slot] = value
      return UNSAMPLED
    }
    if (slot < 0) {
      headers.push('traceparent', '')
      slot = headers.length - 1
    }
    return new SampledTrace(this, headers, slot, parent?.traceId ?? this.ids.traceId(), parent?.spanId, this.ids.spanId(), startedAt)
  }

  /** A span id for a try of a sampled request. */
  spanId(): string {
    return this.ids.spanId()
  }

  /** A sampled request ended: its spans go to the export queue. */
  finished(ids: TraceIds, record: RequestRecord): void {
    const n = 1 + Math.min(record.tries.length, ids.trySpanIds.length)
    if (this.queue.full(n)) {
      this.queue.drop(n) // overloaded: do not build what cannot be sent
      return
    }
    const clock = this.options.clock
    const wallOffsetMs = clock.wallNow() - clock.now()
    const marks = this.marks
    this.queue.add(
      requestSpans(ids, record, {
        resource: this.resource,
        scope: this.scope,
        wallOffsetMs,
        eventsOf: (endpoint, from, to) => marks.eventsOf(endpoint, from, to, wallOffsetMs),
      }),
    )
  }

  /** Spans exported, dropped (queue full) and lost in failed exports, since start. */
  counts(): SpanCounts {
    const c = this.queue.counts()
    const p = this.past
    return { exported: p.exported + c.exported, dropped: p.dropped + c.dropped, failed: p.failed + c.failed }
  }

  /**
   * A reload: sampling and serviceName apply to the next request; a new `otlp` gets a new
   * exporter (the old queue is exported and closed in the background). Removing `tracing`
   * needs a restart (the listeners keep this tracer).
   */
  reload(next: TracingConfig | undefined): void {
    if (next === undefined) {
      this.options.logger.warn('tracing removed from the config: it stops after a restart')
      return
    }
    const prev = this.config
    this.config = next
    if (next.serviceName !== prev.serviceName) this.resource = this.makeResource()
    if (JSON.stringify(next.otlp) !== JSON.stringify(prev.otlp)) {
      const old = this.queue
      this.queue = this.makeQueue()
      const done: Promise<void> = old.stop().finally(() => {
        const c = old.counts()
        this.past = { exported: this.past.exported + c.exported, dropped: this.past.dropped + c.dropped, failed: this.past.failed + c.failed }
        this.retiring.delete(done)
      })
      this.retiring.add(done)
    }
  }

  start(): void {}

  /** Exports what is queued (bounded wait) and closes the exporter. Idempotent. */
  async stop(): Promise<void> {
    await Promise.all([this.queue.stop(), ...this.retiring])
  }

  private makeResource(): Resource {
    return resourceFromAttributes({
      'service.name': this.config.serviceName,
      'service.instance.id': this.options.node,
      ...(this.options.version === undefined ? {} : { 'service.version': this.options.version }),
    })
  }

  private makeQueue(): SpanQueue {
    const exporter = (this.options.exporter ?? otlpExporter)(this.config.otlp)
    return new SpanQueue({ ...this.options.queue, exporter, log: this.options.logger })
  }
}

/** A recorded request: its ids, and where its traceparent goes in the upstream headers. */
class SampledTrace implements RequestTrace, TraceIds {
  readonly trySpanIds: string[] = []

  constructor(
    private readonly tracer: Tracer,
    private readonly headers: string[],
    private readonly slot: number,
    readonly traceId: string,
    readonly parentSpanId: string | undefined,
    readonly serverSpanId: string,
    readonly startedAt: number,
  ) {}

  beforeTry(n: number): void {
    const id = this.tracer.spanId()
    this.trySpanIds[n - 1] = id
    this.headers[this.slot] = formatTraceparent(this.traceId, id, true)
  }

  end(record: RequestRecord): void {
    try {
      this.tracer.finished(this, record)
    } catch {
      // a span that cannot be built is lost; the request path goes on
    }
  }
}
