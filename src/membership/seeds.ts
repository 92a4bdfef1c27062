/**
 * Seeds: `host:port` strings (DNS names allowed, resolved with dns.lookup on every attempt, so a
 * seed that moves is followed), and the join retry: attempts with exponential backoff and jitter
 * until one seed answers, stoppable at any time.
 */
import { lookup as dnsLookupCb } from 'node:dns'
import net from 'node:net'
import type { Clock, Random, Timer } from '../clock.js'
import type { HostPort } from './transport.js'

/** Resolves a host name to IP addresses. Injected so tests never touch DNS. */
export type Lookup = (host: string) => Promise<readonly string[]>

export const dnsLookup: Lookup = (host) =>
  new Promise((resolve, reject) => {
    dnsLookupCb(host, { all: true }, (err, addresses) => (err ? reject(err) : resolve(addresses.map((a) => a.address))))
  })

/** `host:port` or `[v6]:port`; undefined when it is not one. */
export function parseSeed(seed: string): HostPort | undefined {
  const i = seed.lastIndexOf(':')
  if (i <= 0) return undefined
  let host = seed.slice(0, i)
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1)
  const port = Number(seed.slice(i + 1))
  if (!Number.isInteger(port) || port < 1 || port > 65535 || host === '') return undefined
  return { host, port }
}

/** Every address of every seed (IP literals as they are); seeds that fail to resolve are skipped. */
export async function resolveSeeds(seeds: readonly string[], lookup: Lookup): Promise<HostPort[]> {
  const out: HostPort[] = []
  const seen = new Set<string>()
  await Promise.all(
    seeds.map(async (s) => {
      const hp = parseSeed(s)
      if (hp === undefined) return
      let hosts: readonly string[]
      if (net.isIP(hp.host) !== 0) hosts = [hp.host]
      else {
        try {
          hosts = await lookup(hp.host)
        } catch {
          return
        }
      }
      for (const host of hosts) {
        const key = `${host}|${hp.port}`
        if (seen.has(key)) continue
        seen.add(key)
        out.push({ host, port: hp.port })
      }
    }),
  )
  return out
}

/** Exponential backoff with ±20% jitter. */
export class Backoff {
  private current: number
  constructor(
    private readonly initialMs: number,
    private readonly maxMs: number,
    private readonly random: Random,
  ) {
    this.current = initialMs
  }
  next(): number {
    const base = this.current
    this.current = Math.min(this.maxMs, this.current * 2)
    return Math.round(base * (0.8 + 0.4 * this.random()))
  }
  reset(): void {
    this.current = this.initialMs
  }
}

/** Runs `attempt` until it reports success, waiting a growing backoff between tries. */
export class JoinRetry {
  private timer: Timer | undefined
  private stopped = false
  private running = false

  constructor(
    private readonly clock: Clock,
    private readonly backoff: Backoff,
    private readonly attempt: () => Promise<boolean>,
  ) {}

  /** Tries now; resolves with the first try's outcome (later tries continue in the background). */
  async start(): Promise<boolean> {
    this.stopped = false
    return this.run()
  }

  get active(): boolean {
    return this.timer !== undefined || this.running
  }

  stop(): void {
    this.stopped = true
    this.timer?.cancel()
    this.timer = undefined
  }

  private async run(): Promise<boolean> {
    this.timer = undefined
    if (this.stopped) return false
    this.running = true
    let ok: boolean
    try {
      ok = await this.attempt()
    } catch {
      ok = false
    }
    this.running = false
    if (!ok && !this.stopped) this.timer = this.clock.setTimer(() => void this.run(), this.backoff.next())
    if (ok) this.backoff.reset()
    return ok
  }
}

/**
 * One join attempt: push-pull with every seed that is not this node, in parallel. Returns how
 * many answered (a node whose seeds are only itself has nobody to join: Infinity), or -1 when no
 * seed resolves yet.
 */
export async function joinSeeds(seeds: readonly string[], lookup: Lookup, isSelf: (a: HostPort) => boolean, exchange: (a: HostPort) => Promise<boolean>): Promise<number> {
  if (seeds.length === 0) return Infinity
  const resolved = await resolveSeeds(seeds, lookup)
  if (resolved.length === 0) return -1
  const others = resolved.filter((a) => !isSelf(a))
  if (others.length === 0) return Infinity
  return (await Promise.all(others.map(exchange))).filter(Boolean).length
}
