/**
 * The cluster DNS a pod sees, for multi-host tests in network namespaces: the test DNS server
 * (test/helpers/dns-server.ts) on the root namespace's bridge address, port 53, serving a headless
 * Service as Kubernetes does with `publishNotReadyAddresses: true`: `NAME` has an A record for
 * every pod added so far, `_gossip._udp.NAME` an SRV record per pod (target `a-b-c-d.NAME`, the
 * gossip port), and each target an A record.
 */
import { DnsServer, type SrvRecord } from './dns-server.js'

export class ClusterDns {
  private readonly server = new DnsServer()
  private readonly ips: string[] = []

  constructor(
    /** The headless Service's name, e.g. commy-gossip.default.svc.cluster.local. */
    readonly service: string,
    private readonly port: number,
  ) {}

  async listen(address: string): Promise<void> {
    await this.server.start(address, 53)
  }

  /** Lists a pod's address (the pod exists, ready or not). */
  add(ip: string): void {
    if (!this.ips.includes(ip)) this.ips.push(ip)
    const target = (a: string) => `${a.replaceAll('.', '-')}.${this.service}`
    const A: Record<string, string[]> = { [this.service]: [...this.ips] }
    for (const a of this.ips) A[target(a)] = [a]
    const srv: SrvRecord[] = this.ips.map((a) => ({ target: target(a), port: this.port }))
    this.server.set({ A, SRV: { [`_gossip._udp.${this.service}`]: srv } })
  }

  /** Questions about the Service's name (A and SRV). */
  get queries(): number {
    return this.server.queries('A', this.service) + this.server.queries('SRV', `_gossip._udp.${this.service}`)
  }

  close(): Promise<void> {
    return this.server.stop()
  }
}
