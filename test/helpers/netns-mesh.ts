/**
 * A Kubernetes-like mesh in network namespaces: a NetnsNetwork, the cluster DNS answering the
 * headless Service's name with the pods started so far, one mesh CA, and per pod the app
 * (test/fixtures/netns/app.ts on its loopback) and commy started with the ConfigMap's sidecar.yaml
 * and the env the Deployment gives (test/helpers/netns-pod.ts). `destroy()` removes it all.
 */
import type { ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createCa, type PemPair } from '../../src/tls/pki.js'
import { ClusterDns } from './cluster-dns.js'
import { NetnsNetwork } from './netns.js'
import { K8S_SIDECAR, Pod, spawnFixture, tlsDir } from './netns-pod.js'

export const GOSSIP_PORT = 7946
export const SEED = 'commy-gossip.default.svc.cluster.local'

export interface PodMeshOptions {
  /** Pod names, one namespace each. */
  readonly names: readonly string[]
  /** The service of each pod (the identity in its certificate; the ConfigMap's local service is `users`). */
  readonly services: readonly string[]
  /** Env besides what every pod gets (e.g. COMMY_GOSSIP_PROFILE, COMMY_JOIN_TIMEOUT). */
  readonly env?: Readonly<Record<string, string>>
}

export class PodMesh {
  readonly pods: Pod[] = []
  private readonly apps: ChildProcess[] = []
  private readonly env: Record<string, string>

  private constructor(
    readonly net: NetnsNetwork,
    readonly dns: ClusterDns,
    private readonly ca: PemPair,
    private readonly options: PodMeshOptions,
  ) {
    this.env = {
      COMMY_GOSSIP_KEY: randomBytes(32).toString('base64'),
      COMMY_ADMIN_TOKEN: randomBytes(24).toString('hex'),
      COMMY_GOSSIP_SEED: `${SEED}:${GOSSIP_PORT}`,
      ...options.env,
    }
  }

  static async create(options: PodMeshOptions): Promise<PodMesh> {
    const net = NetnsNetwork.create(options.names.length)
    try {
      const dns = new ClusterDns(SEED, GOSSIP_PORT)
      await dns.listen(net.hostIp)
      for (const n of net.nodes) net.resolvConf(n.index, `nameserver ${net.hostIp}\noptions timeout:1 attempts:2\n`)
      return new PodMesh(net, dns, await createCa({ name: 'commy netns mesh CA', days: 1 }), options)
    } catch (err) {
      net.destroy()
      throw err
    }
  }

  /** Starts pod i: listed by the headless Service, its app, then commy (resolves once gossip started). */
  async start(i: number): Promise<Pod> {
    const name = this.options.names[i]!
    this.dns.add(this.net.node(i).ip)
    this.apps.push(spawnFixture(this.net, i, 'app.ts', [], { POD_NAME: name }))
    const dir = await tlsDir(this.options.services[i]!, this.ca)
    const pod = await Pod.start(this.net, i, name, { config: K8S_SIDECAR, env: { ...this.env, COMMY_TLS_DIR: dir } })
    this.pods[i] = pod
    return pod
  }

  /** Runs the client fixture in pod i's namespace (steady GETs through its outbound listener). */
  client(i: number, host: string, loops = 2, pauseMs = 20): ChildProcess {
    return spawnFixture(this.net, i, 'client.ts', ['http://127.0.0.1:15001/', host, String(loops), String(pauseMs)])
  }

  async destroy(): Promise<void> {
    for (const p of this.pods) p.stop()
    this.net.destroy()
    await this.dns.close()
  }
}
