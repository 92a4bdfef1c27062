/**
 * File descriptors, the resource every connection costs twice in a proxy (one in, one out).
 *
 * - `connectionCap()`: the effective `limits.maxConnections` of a listener. Inbound connections of
 *   all listeners together may use at most half of the process's descriptor limit (the soft
 *   RLIMIT_NOFILE, read from /proc/self/limits); the other half stays for the upstream connections
 *   those clients cause, health checks, gossip, the admin listener and files. A configured value
 *   below that share is kept.
 * - `DescriptorEpisodes`: running out of descriptors (EMFILE/ENFILE on accept or on an upstream
 *   connect) is logged once per episode — a warning when it starts, an info line with the count
 *   when none was seen for `quietMs` — and counted by operation. `onStart`/`onEnd` let the owner
 *   shed load during the episode (close idle keep-alive client connections, answer with
 *   `Connection: close`) so the admin listener and upstream connects get descriptors back. The timer runs only during an episode; stop() clears it.
 */
import { readFileSync } from 'node:fs'
import type { Clock, Timer } from '../clock.js'
import type { Startable } from '../lifecycle.js'

/** Share of the descriptor limit that inbound connections (all listeners together) may use. */
export const INBOUND_DESCRIPTOR_SHARE = 0.5

/** The soft "Max open files" of a /proc/<pid>/limits text; undefined when absent or unlimited. */
export function parseNofile(limits: string): number | undefined {
  const m = /^Max open files\s+(\d+|unlimited)\s/m.exec(limits)
  if (!m || m[1] === 'unlimited') return undefined
  return Number(m[1])
}

/** This process's soft descriptor limit (Linux), or undefined when it cannot be read. */
export function readNofile(path = '/proc/self/limits'): number | undefined {
  try {
    return parseNofile(readFileSync(path, 'utf8'))
  } catch {
    return undefined
  }
}

/** The effective per-listener connection cap: min(configured, the inbound share of `nofile` split over the listeners). */
export function connectionCap(configured: number, nofile: number | undefined, listeners: number): number {
  if (nofile === undefined) return configured
  const share = Math.floor((nofile * INBOUND_DESCRIPTOR_SHARE) / Math.max(1, listeners))
  return Math.max(1, Math.min(configured, share))
}

export type ExhaustionOp = 'accept' | 'connect'
export const EXHAUSTION_OPS: readonly ExhaustionOp[] = ['accept', 'connect']

export interface EpisodeLog {
  warn(obj: object, msg: string): void
  info(obj: object, msg: string): void
}

export interface DescriptorEpisodesOptions {
  readonly clock: Clock
  readonly log: EpisodeLog
  /** An episode ends after this long without a hit. Default 5000 ms. */
  readonly quietMs?: number
  /** Called when an episode starts (shed load). */
  readonly onStart?: () => void
  /** Called when an episode ends (stop shedding). */
  readonly onEnd?: () => void
}

export class DescriptorEpisodes implements Startable {
  private readonly totals: Record<ExhaustionOp, number> = { accept: 0, connect: 0 }
  private readonly quietMs: number
  private episode: { since: number; last: number; count: number } | undefined
  private timer: Timer | undefined

  constructor(private readonly options: DescriptorEpisodesOptions) {
    this.quietMs = options.quietMs ?? 5000
  }

  /** Descriptor exhaustion seen by `op`. */
  hit(op: ExhaustionOp): void {
    this.totals[op]++
    const now = this.options.clock.now()
    if (this.episode) {
      this.episode.count++
      this.episode.last = now
      return
    }
    this.episode = { since: now, last: now, count: 1 }
    this.options.log.warn({ op }, 'out of file descriptors (EMFILE/ENFILE): refusing connections and failing upstream connects until some close')
    this.options.onStart?.()
    this.schedule(this.quietMs)
  }

  /** True during an episode. */
  get active(): boolean {
    return this.episode !== undefined
  }

  /** Hits since start, by operation (live object; read, do not keep). */
  counts(): Readonly<Record<ExhaustionOp, number>> {
    return this.totals
  }

  private schedule(ms: number): void {
    this.timer = this.options.clock.setTimer(() => this.check(), ms)
  }

  private check(): void {
    const e = this.episode
    if (!e) return
    const quietFor = this.options.clock.now() - e.last
    if (quietFor < this.quietMs) return this.schedule(this.quietMs - quietFor)
    this.episode = undefined
    this.timer = undefined
    this.options.log.info({ count: e.count, durationMs: Math.round(e.last - e.since) }, 'file descriptors available again')
    this.options.onEnd?.()
  }

  start(): void {}

  stop(): void {
    this.timer?.cancel()
    this.timer = undefined
  }
}
