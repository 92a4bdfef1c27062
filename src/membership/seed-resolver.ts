/**
 * How seed names become addresses: A/AAAA for `host:port` seeds and SRV records (then each
 * target's A/AAAA) for `dns+srv:NAME` seeds. An interface so the join loop never touches DNS
 * itself: production uses the system's resolver (`systemSeedResolver`: getaddrinfo for host names,
 * so /etc/hosts and search domains apply, and the system's DNS servers for SRV); tests and users
 * with their own DNS server hand in a node:dns Resolver (`resolverSeedResolver`).
 */
import { lookup, promises as dnsPromises } from 'node:dns'
import net from 'node:net'

/** One SRV record: where a seed listens. */
export interface SrvTarget {
  readonly target: string
  readonly port: number
}

export interface SeedResolver {
  /** Every address of a host name, IPv4 and IPv6 (rejects when it has none). */
  addresses(host: string): Promise<readonly string[]>
  /** Every SRV record of a name (priority and weight are ignored: any seed that answers will do). */
  srv(name: string): Promise<readonly SrvTarget[]>
}

/** The system's resolver: dns.lookup (every family) for host names, the system's DNS servers for SRV. */
export function systemSeedResolver(): SeedResolver {
  return {
    addresses: (host) =>
      new Promise((resolve, reject) => {
        lookup(host, { all: true, family: 0 }, (err, addresses) => (err ? reject(err) : resolve(addresses.map((a) => a.address))))
      }),
    srv: async (name) => (await dnsPromises.resolveSrv(name)).map((r) => ({ target: r.name, port: r.port })),
  }
}

/** The part of node:dns's promise Resolver used here. */
export type DnsResolver = Pick<dnsPromises.Resolver, 'resolve4' | 'resolve6' | 'resolveSrv'>

/** Everything through one node:dns Resolver (e.g. pointed at a DNS server with setServers). */
export function resolverSeedResolver(resolver: DnsResolver): SeedResolver {
  return {
    addresses: async (host) => {
      if (net.isIP(host) !== 0) return [host]
      const [v4, v6] = await Promise.allSettled([resolver.resolve4(host), resolver.resolve6(host)])
      const out = [...(v4.status === 'fulfilled' ? v4.value : []), ...(v6.status === 'fulfilled' ? v6.value : [])]
      if (out.length === 0 && v4.status === 'rejected') throw v4.reason
      return out
    },
    srv: async (name) => (await resolver.resolveSrv(name)).map((r) => ({ target: r.name, port: r.port })),
  }
}
