/**
 * The cluster DNS a pod sees, for multi-host tests in network namespaces: a UDP DNS server (on the
 * root namespace's bridge address, port 53) that answers, for every name under `domain`, A records
 * with the addresses of the pods the test has started, as a headless Service with
 * `publishNotReadyAddresses: true` does, and SRV records (`_port._proto.NAME`) naming
 * `<a-b-c-d>.NAME` targets at `port`, which resolve to that one address. Other names: NXDOMAIN.
 */
import dgram from 'node:dgram'
import dnsPacket, { type Answer, type Question } from 'dns-packet'

export class ClusterDns {
  /** Pod addresses the headless Service lists now. */
  readonly pods = new Set<string>()
  queries = 0
  private readonly socket = dgram.createSocket('udp4')

  constructor(
    private readonly domain: string,
    private readonly port: number,
  ) {
    this.socket.on('message', (msg, rinfo) => this.answer(msg, rinfo))
  }

  listen(address: string, port = 53): Promise<void> {
    return new Promise((resolve, reject) => {
      this.socket.once('error', reject)
      this.socket.bind(port, address, () => {
        this.socket.removeListener('error', reject)
        resolve()
      })
    })
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()))
  }

  private answer(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    let query: dnsPacket.Packet
    try {
      query = dnsPacket.decode(msg)
    } catch {
      return
    }
    this.queries++
    const questions = query.questions ?? []
    const answers = questions.flatMap((q) => this.records(q))
    const known = questions.every((q) => this.owns(q.name))
    const reply = dnsPacket.encode({
      type: 'response',
      id: query.id,
      flags: dnsPacket.AUTHORITATIVE_ANSWER | dnsPacket.RECURSION_DESIRED | (known ? 0 : 3), // rcode 3: NXDOMAIN
      questions,
      answers,
    })
    this.socket.send(reply, rinfo.port, rinfo.address)
  }

  private owns(name: string): boolean {
    const n = name.toLowerCase()
    return n === this.domain || n.endsWith(`.${this.domain}`)
  }

  private records(q: Question): Answer[] {
    if (!this.owns(q.name)) return []
    const pod = /^(\d+)-(\d+)-(\d+)-(\d+)\./.exec(q.name)
    if (q.type === 'A') {
      const ips = pod !== null ? [pod.slice(1, 5).join('.')] : [...this.pods]
      return ips.map((ip) => ({ type: 'A', name: q.name, ttl: 1, data: ip }))
    }
    if (q.type === 'SRV') {
      const base = q.name.replace(/^_[^.]+\._[^.]+\./, '')
      return [...this.pods].map((ip) => ({
        type: 'SRV',
        name: q.name,
        ttl: 1,
        data: { priority: 0, weight: 1, port: this.port, target: `${ip.replaceAll('.', '-')}.${base}` },
      }))
    }
    return []
  }
}
