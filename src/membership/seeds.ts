/**
 * Seeds: `host:port` (DNS names allowed: every A/AAAA address) and `dns+srv:NAME` (every SRV
 * record's target and port), resolved again on every join attempt so a seed that moves (a
 * headless Service's pods) is followed; which seed addresses are this node itself; and the join
 * retry: attempts with exponential backoff and jitter, stoppable at any time.
 */
import { networkInterfaces } from 'node:os'
import net from 'node:net'
import type { Clock, Random, Timer } from '../clock.js'
import type { SeedResolver } from './seed-resolver.js'
import type { HostPort } from './transport.js'

/** A seed as configured: an address (a host name or an IP, and a port) or an SRV name. */
export type Seed = { readonly kind: 'address'; readonly host: string; readonly port: number } | { readonly kind: 'srv'; readonly name: string }

const SRV_PREFIX = 'dns+srv:'

/** `host:port`, `[v6]:port` or `dns+srv:NAME`; undefined when it is none of them. */
export function parseSeed(seed: string): Seed | undefined {
  if (seed.startsWith(SRV_PREFIX)) {
    const name = seed.slice(SRV_PREFIX.length)
    return /^[A-Za-z0-9_.-]+$/.test(name) ? { kind: 'srv', name } : undefined
  }
  const i = seed.lastIndexOf(':')
  if (i <= 0) return undefined
  let host = seed.slice(0, i)
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1)
  const port = Number(seed.slice(i + 1))
  if (!Number.isInteger(port) || port < 1 || port > 65535 || host === '') return undefined
  return { kind: 'address', host, port }
}

/** A host's addresses: an IP literal as it is, a name through the resolver (none when it fails). */
async function addressesOf(host: string, resolver: SeedResolver): Promise<readonly string[]> {
  if (net.isIP(host) !== 0) return [host]
  try {
    return await resolver.addresses(host)
  } catch {
    return []
  }
}

/** The addresses one seed stands for now (a seed that fails to resolve stands for none). */
async function seedAddresses(seed: Seed, resolver: SeedResolver): Promise<HostPort[]> {
  if (seed.kind === 'address') return (await addressesOf(seed.host, resolver)).map((host) => ({ host, port: seed.port }))
  let records: Awaited<ReturnType<SeedResolver['srv']>>
  try {
    records = await resolver.srv(seed.name)
  } catch {
    return []
  }
  const perTarget = await Promise.all(records.map(async (r) => (await addressesOf(r.target, resolver)).map((host) => ({ host, port: r.port }))))
  return perTarget.flat()
}

/** Every address of every seed, duplicates merged; seeds that fail to resolve are skipped. */
export async function resolveSeeds(seeds: readonly string[], resolver: SeedResolver): Promise<HostPort[]> {
  const parsed = seeds.map(parseSeed).filter((s): s is Seed => s !== undefined)
  const out: HostPort[] = []
  const seen = new Set<string>()
  for (const list of await Promise.all(parsed.map((s) => seedAddresses(s, resolver)))) {
    for (const a of list) {
      const key = `${a.host}|${a.port}`
      if (seen.has(key)) continue
      seen.add(key)
      out.push(a)
    }
  }
  return out
}

const isWildcard = (host: string): boolean => host === '0.0.0.0' || host === '::'
const isLoopback = (host: string): boolean => host === '::1' || /^127\./.test(host) || /^::ffff:127\./.test(host)

/** The IP addresses of this host's interfaces (what a wildcard bind answers on). */
export function interfaceAddresses(): readonly string[] {
  return Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address))
}

/**
 * Whether a seed address is this node: its advertised address, its bound address, or, when bound
 * to a wildcard, any address of this host (loopback included) at the bound port.
 */
export function selfMatcher(advertised: HostPort, bound: HostPort | undefined, localAddresses: () => readonly string[] = interfaceAddresses): (a: HostPort) => boolean {
  let local: ReadonlySet<string> | undefined
  return (a) => {
    if (a.host === advertised.host && a.port === advertised.port) return true
    if (bound === undefined || a.port !== bound.port) return false
    if (a.host === bound.host) return true
    if (!isWildcard(bound.host)) return false
    local ??= new Set(localAddresses())
    return isLoopback(a.host) || local.has(a.host)
  }
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

/** What one join attempt found. */
export type JoinOutcome =
  /** `peers` seeds answered a push-pull. */
  | { readonly kind: 'answered'; readonly peers: number }
  /** Seeds resolved to other nodes; none answered. */
  | { readonly kind: 'silent'; readonly tried: number }
  /** No seed resolves to any address. */
  | { readonly kind: 'unresolved' }
  /** Every seed address is this node. */
  | { readonly kind: 'only-self' }
  /** No seed is configured. */
  | { readonly kind: 'no-seeds' }

/** One join attempt: push-pull with every seed address that is not this node, in parallel. */
export async function joinSeeds(seeds: readonly string[], resolver: SeedResolver, isSelf: (a: HostPort) => boolean, exchange: (a: HostPort) => Promise<boolean>): Promise<JoinOutcome> {
  if (seeds.length === 0) return { kind: 'no-seeds' }
  const resolved = await resolveSeeds(seeds, resolver)
  if (resolved.length === 0) return { kind: 'unresolved' }
  const others = resolved.filter((a) => !isSelf(a))
  if (others.length === 0) return { kind: 'only-self' }
  const peers = (await Promise.all(others.map(exchange))).filter(Boolean).length
  return peers > 0 ? { kind: 'answered', peers } : { kind: 'silent', tried: others.length }
}
