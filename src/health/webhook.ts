/**
 * Alert delivery to webhooks: `notify()` queues a JSON POST per configured URL and returns at once
 * (never on the data path, never throws). Each try has the hook's timeout; a failed try (network
 * error, timeout, non-2xx) is retried `retries` times after an exponential backoff with jitter
 * (base × 2^n, capped) on the injected clock. A delivery that fails every try is logged at warn,
 * with the URL's origin only (webhook paths often hold secrets). At most `maxInFlight` POSTs run
 * at once; the queue is bounded (the oldest waiting delivery is dropped, and logged).
 * `stop()` cancels backoff timers and in-flight POSTs and closes the connections.
 */
import type { Logger } from 'pino'
import { Agent, request } from 'undici'
import type { Clock, Random, Timer } from '../clock.js'
import type { WebhookConfig } from '../config/types.js'
import type { Startable } from '../lifecycle.js'
import { failureReason } from './check.js'
import { CommyError } from '../errors.js'

export interface WebhookNotifierOptions {
  readonly webhooks: readonly WebhookConfig[]
  readonly clock: Clock
  readonly random: Random
  readonly logger: Logger
  readonly backoffBaseMs?: number
  readonly backoffMaxMs?: number
  readonly maxInFlight?: number
  readonly maxQueued?: number
}

/** A webhook try took longer than its timeout. */
export class WebhookTimeoutError extends CommyError {
  constructor(timeoutMs: number) {
    super('COMMY_ERR_WEBHOOK_TIMEOUT', `timeout after ${timeoutMs}ms`)
  }
}

interface Delivery {
  readonly hook: WebhookConfig
  readonly body: string
  /** Tries made so far. */
  tries: number
}

export class WebhookNotifier implements Startable {
  private readonly o: Required<WebhookNotifierOptions>
  private hooks: readonly WebhookConfig[]
  private readonly queue: Delivery[] = []
  private readonly inFlight = new Set<AbortController>()
  private readonly waiting = new Set<Timer>()
  private agent: Agent | undefined
  private stopped: Promise<void> | undefined
  private sent = 0
  private failed = 0

  constructor(options: WebhookNotifierOptions) {
    this.o = { backoffBaseMs: 500, backoffMaxMs: 30_000, maxInFlight: 4, maxQueued: 1_000, ...options }
    this.hooks = options.webhooks
  }

  start(): void {}

  /** New webhook list (config reload); deliveries already queued go to the hooks they were queued for. */
  reconfigure(webhooks: readonly WebhookConfig[]): void {
    this.hooks = webhooks
  }

  stop(): Promise<void> {
    if (this.stopped) return this.stopped
    for (const t of this.waiting) t.cancel()
    this.waiting.clear()
    for (const ac of this.inFlight) ac.abort()
    this.queue.length = 0
    const agent = this.agent
    this.agent = undefined
    this.stopped = agent ? agent.destroy().catch(() => {}) : Promise.resolve()
    return this.stopped
  }

  /** Queues `payload` for every webhook; returns at once. */
  notify(payload: unknown): void {
    if (this.stopped || this.hooks.length === 0) return
    const body = JSON.stringify(payload)
    for (const hook of this.hooks) this.enqueue({ hook, body, tries: 0 })
    this.pump()
  }

  /** Deliveries waiting, retrying or in flight. */
  pending(): number {
    return this.queue.length + this.inFlight.size + this.waiting.size
  }

  stats(): { readonly sent: number; readonly failed: number; readonly pending: number } {
    return { sent: this.sent, failed: this.failed, pending: this.pending() }
  }

  private enqueue(d: Delivery): void {
    if (this.queue.length >= this.o.maxQueued) {
      const dropped = this.queue.shift()!
      this.failed++
      this.o.logger.warn({ webhook: origin(dropped.hook.url) }, 'webhook queue full: oldest alert delivery dropped')
    }
    this.queue.push(d)
  }

  private pump(): void {
    while (!this.stopped && this.inFlight.size < this.o.maxInFlight && this.queue.length > 0) void this.send(this.queue.shift()!)
  }

  private async send(d: Delivery): Promise<void> {
    const ac = new AbortController()
    this.inFlight.add(ac)
    const timer = this.o.clock.setTimer(() => ac.abort(new WebhookTimeoutError(d.hook.timeoutMs)), d.hook.timeoutMs)
    d.tries++
    let error: string | undefined
    try {
      const res = await request(d.hook.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'commy-alerts', ...d.hook.headers },
        body: d.body,
        signal: ac.signal,
        dispatcher: (this.agent ??= new Agent({ keepAliveTimeout: 4_000 })),
      })
      await res.body.dump()
      if (res.statusCode < 200 || res.statusCode > 299) error = `HTTP ${res.statusCode}`
    } catch (err) {
      error = failureReason(err, ac.signal)
    } finally {
      timer.cancel()
      this.inFlight.delete(ac)
    }
    if (this.stopped) return
    if (error === undefined) this.sent++
    else if (d.tries <= d.hook.retries) this.retry(d, error)
    else {
      this.failed++
      this.o.logger.warn({ webhook: origin(d.hook.url), tries: d.tries, error }, 'alert webhook delivery failed')
    }
    this.pump()
  }

  private retry(d: Delivery, error: string): void {
    const exp = Math.min(this.o.backoffMaxMs, this.o.backoffBaseMs * 2 ** (d.tries - 1))
    const delay = exp / 2 + (this.o.random() * exp) / 2
    this.o.logger.debug({ webhook: origin(d.hook.url), tries: d.tries, error, retryInMs: Math.round(delay) }, 'alert webhook try failed')
    const t = this.o.clock.setTimer(() => {
      this.waiting.delete(t)
      this.enqueue(d)
      this.pump()
    }, delay)
    this.waiting.add(t)
  }
}

function origin(url: string): string {
  try {
    return new URL(url).origin
  } catch {
    return 'invalid url'
  }
}
