/**
 * A small authoritative DNS server on 127.0.0.1 (UDP, port 0) for tests: serves the A, AAAA and
 * SRV records it holds (change them at any time with `set`), answers NXDOMAIN for names it does not
 * know and an empty NOERROR for a known name without records of the asked type. Counts the
 * questions per name and type, so a test can see that a name was resolved again.
 * `resolver()` is a node:dns Resolver pointed at it (setServers(['127.0.0.1:PORT'])).
 */
import { createSocket, type Socket } from 'node:dgram'
import { promises as dnsPromises } from 'node:dns'
import dnsPacket from 'dns-packet'

export interface SrvRecord {
  readonly target: string
  readonly port: number
  readonly priority?: number
  readonly weight?: number
}

export interface Zone {
  readonly A?: Readonly<Record<string, readonly string[]>>
  readonly AAAA?: Readonly<Record<string, readonly string[]>>
  readonly SRV?: Readonly<Record<string, readonly SrvRecord[]>>
}

const NXDOMAIN = 3

export class DnsServer {
  private zone: Zone
  private socket: Socket | undefined
  private readonly asked = new Map<string, number>()
  port = 0

  constructor(zone: Zone = {}) {
    this.zone = zone
  }

  /** Replaces every record. */
  set(zone: Zone): void {
    this.zone = zone
  }

  /** How many times `name` was asked for records of `type`. */
  queries(type: 'A' | 'AAAA' | 'SRV', name: string): number {
    return this.asked.get(`${type} ${name.toLowerCase()}`) ?? 0
  }

  /** Binds 127.0.0.1 on a free port unless told otherwise (a network namespace test's bridge address, 53). */
  async start(address = '127.0.0.1', port = 0): Promise<this> {
    const socket = createSocket('udp4')
    socket.on('message', (msg, from) => {
      let reply: Buffer
      try {
        reply = this.answer(msg)
      } catch {
        return // not a DNS query: ignore, as a server would
      }
      socket.send(reply, from.port, from.address)
    })
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject)
      socket.bind(port, address, () => {
        socket.off('error', reject)
        resolve()
      })
    })
    this.socket = socket
    this.port = socket.address().port
    return this
  }

  /** A node:dns Resolver asking only this server (one try, short timeout). */
  resolver(): dnsPromises.Resolver {
    const r = new dnsPromises.Resolver({ timeout: 1000, tries: 1 })
    r.setServers([`127.0.0.1:${this.port}`])
    return r
  }

  stop(): Promise<void> {
    const s = this.socket
    this.socket = undefined
    if (s === undefined) return Promise.resolve()
    return new Promise((resolve) => s.close(() => resolve()))
  }

  private answer(msg: Buffer): Buffer {
    const query = dnsPacket.decode(msg)
    const answers: dnsPacket.Answer[] = []
    let known = false
    for (const q of query.questions ?? []) {
      const name = q.name.toLowerCase().replace(/\.$/, '')
      this.asked.set(`${q.type} ${name}`, (this.asked.get(`${q.type} ${name}`) ?? 0) + 1)
      const a = this.zone.A?.[name]
      const aaaa = this.zone.AAAA?.[name]
      const srv = this.zone.SRV?.[name]
      if (a !== undefined || aaaa !== undefined || srv !== undefined) known = true
      if (q.type === 'A') for (const ip of a ?? []) answers.push({ type: 'A', name: q.name, ttl: 5, data: ip })
      if (q.type === 'AAAA') for (const ip of aaaa ?? []) answers.push({ type: 'AAAA', name: q.name, ttl: 5, data: ip })
      if (q.type === 'SRV') {
        for (const r of srv ?? []) {
          answers.push({ type: 'SRV', name: q.name, ttl: 5, data: { target: r.target, port: r.port, priority: r.priority ?? 10, weight: r.weight ?? 10 } })
        }
      }
    }
    return dnsPacket.encode({
      type: 'response',
      id: query.id,
      flags: dnsPacket.AUTHORITATIVE_ANSWER | (known ? 0 : NXDOMAIN),
      questions: query.questions,
      answers,
    })
  }
}

/** Starts a server with `zone`. */
export function startDnsServer(zone: Zone = {}): Promise<DnsServer> {
  return new DnsServer(zone).start()
}
