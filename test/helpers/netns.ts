/**
 * A private network of Linux network namespaces for multi-host tests (root only, iproute2):
 *
 *   root ns  10.231.N.1 ── veth ──┐
 *                                 br0 (in a namespace of its own: no host firewall sees it)
 *   node i   10.231.N.(10+i) eth0 ┘   one namespace per node, lo up, no default route
 *
 * Nothing in a node namespace can reach past the bridge (no default route, no forwarding), and
 * the test process reaches the nodes from the root namespace as a kubelet or Prometheus would.
 * Names carry the creating pid (`cmh<pid>-…`), so a run never collides with another, and a run
 * first removes what a crashed run left (pid no longer alive). Everything is removed by
 * `destroy()`, and at process exit at the latest, even after a failure.
 */
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'

const PREFIX = 'cmh'
const NETNS_ETC = '/etc/netns'

export interface NetnsNode {
  readonly index: number
  /** Namespace name. */
  readonly ns: string
  /** The node's address on the bridge (its "pod IP"). */
  readonly ip: string
  /** The veth end on the bridge that `linkDown()` cuts. */
  readonly port: string
}

function ip(args: readonly string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Why network namespaces cannot be used here, or undefined when they can. */
export function netnsUnavailable(): string | undefined {
  if (process.platform !== 'linux') return 'network namespaces need Linux'
  if (process.getuid?.() !== 0) return 'network namespaces need root (CI runs as root)'
  const probe = `${PREFIX}${process.pid}-probe`
  try {
    ip(['netns', 'add', probe])
    ip(['netns', 'del', probe])
    return undefined
  } catch (err) {
    return `\`ip netns\` does not work here: ${(err as Error).message.split('\n')[0]}`
  }
}

/** Whether `nft` runs (nftables installed and usable in a namespace). */
export function nftUnavailable(): string | undefined {
  try {
    execFileSync('nft', ['--version'], { stdio: 'ignore' })
    return undefined
  } catch {
    return 'nft (nftables) is not installed: apt-get install nftables'
  }
}

/** Removes namespaces (their processes and /etc/netns files) left by runs whose process is gone. */
function sweepStale(): void {
  const names = ip(['netns', 'list'])
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
  for (const name of names) {
    const m = new RegExp(`^${PREFIX}(\\d+)-`).exec(name)
    if (m === null || alive(Number(m[1]))) continue
    // a run killed by a signal left its pods running in there
    for (const pid of ip(['netns', 'pids', name]).split('\n').filter((l) => /^\d+$/.test(l.trim()))) {
      try {
        process.kill(Number(pid), 'SIGKILL')
      } catch {
        // gone meanwhile
      }
    }
    try {
      ip(['netns', 'del', name])
    } catch {
      // already gone
    }
    rmSync(`${NETNS_ETC}/${name}`, { recursive: true, force: true })
  }
}

/** A /24 in 10.231.0.0/16 that no interface of the root namespace uses. */
function freeSubnet(): number {
  const used = new Set([...ip(['-4', '-o', 'addr']).matchAll(/inet 10\.231\.(\d+)\./g)].map((m) => Number(m[1])))
  const start = process.pid % 250
  for (let k = 0; k < 250; k++) {
    const n = (start + k) % 250
    if (!used.has(n)) return n
  }
  throw new Error('no free 10.231.N.0/24 subnet')
}

export class NetnsNetwork {
  readonly nodes: NetnsNode[] = []
  /** The root namespace's address on the bridge. */
  readonly hostIp: string
  private readonly bridgeNs: string
  private readonly hostLink: string
  private readonly children = new Set<ChildProcess>()
  private destroyed = false
  private readonly onExit = () => this.destroy()

  private constructor(
    private readonly tag: string,
    private readonly subnet: number,
  ) {
    this.hostIp = `10.231.${subnet}.1`
    this.bridgeNs = `${tag}-br`
    this.hostLink = `${tag}h`
  }

  /** Creates the bridge and `count` node namespaces. Throws (after cleaning up) when a step fails. */
  static create(count: number): NetnsNetwork {
    sweepStale()
    const net = new NetnsNetwork(`${PREFIX}${process.pid}`, freeSubnet())
    process.once('exit', net.onExit)
    try {
      net.build(count)
    } catch (err) {
      net.destroy()
      throw err
    }
    return net
  }

  private build(count: number): void {
    const br = this.bridgeNs
    ip(['netns', 'add', br])
    ip(['-n', br, 'link', 'set', 'lo', 'up'])
    ip(['-n', br, 'link', 'add', 'br0', 'type', 'bridge'])
    ip(['-n', br, 'link', 'set', 'br0', 'up'])
    // the root namespace's leg: the test process talks to the nodes through it
    ip(['link', 'add', this.hostLink, 'type', 'veth', 'peer', 'name', 'host', 'netns', br])
    ip(['-n', br, 'link', 'set', 'host', 'master', 'br0', 'up'])
    ip(['addr', 'add', `${this.hostIp}/24`, 'dev', this.hostLink])
    ip(['link', 'set', this.hostLink, 'up'])
    for (let i = 0; i < count; i++) {
      const node: NetnsNode = { index: i, ns: `${this.tag}-${i}`, ip: `10.231.${this.subnet}.${10 + i}`, port: `v${i}` }
      ip(['netns', 'add', node.ns])
      ip(['-n', node.ns, 'link', 'set', 'lo', 'up'])
      ip(['-n', br, 'link', 'add', node.port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', node.ns])
      ip(['-n', br, 'link', 'set', node.port, 'master', 'br0', 'up'])
      ip(['-n', node.ns, 'addr', 'add', `${node.ip}/24`, 'dev', 'eth0'])
      ip(['-n', node.ns, 'link', 'set', 'eth0', 'up'])
      this.nodes.push(node)
    }
  }

  node(i: number): NetnsNode {
    const n = this.nodes[i]
    if (n === undefined) throw new Error(`no node ${i}`)
    return n
  }

  /**
   * `/etc/resolv.conf` as processes in the node's namespace see it (`ip netns exec` bind-mounts
   * /etc/netns/NS/resolv.conf), e.g. to point them at a DNS server on `hostIp`.
   */
  resolvConf(i: number, text: string): void {
    const dir = `${NETNS_ETC}/${this.node(i).ns}`
    mkdirSync(dir, { recursive: true })
    writeFileSync(`${dir}/resolv.conf`, text)
  }

  /** Runs `cmd args` in node i's namespace; killed by destroy(). */
  spawn(i: number, cmd: string, args: readonly string[], options: SpawnOptions = {}): ChildProcess {
    // `ip netns exec` execs the command itself: the child's pid is the command's
    const child = spawn('ip', ['netns', 'exec', this.node(i).ns, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...options })
    this.children.add(child)
    child.once('exit', () => this.children.delete(child))
    return child
  }

  /** Runs a command in node i's namespace to completion (stdout). */
  exec(i: number, cmd: string, args: readonly string[], input?: string): string {
    return execFileSync('ip', ['netns', 'exec', this.node(i).ns, cmd, ...args], { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] })
  }

  /** Cuts node i off the bridge (its veth's bridge end down: the cable pulled, no RST, no ICMP). */
  linkDown(i: number): void {
    ip(['-n', this.bridgeNs, 'link', 'set', this.node(i).port, 'down'])
  }

  linkUp(i: number): void {
    ip(['-n', this.bridgeNs, 'link', 'set', this.node(i).port, 'up'])
  }

  /** Whether a node namespace has any route besides its own /24 (it must not). */
  routes(i: number): string[] {
    return ip(['-n', this.node(i).ns, '-4', 'route', 'show', 'table', 'all'])
      .split('\n')
      .filter((l) => l.trim() !== '')
  }

  /** Kills every process started in the namespaces and deletes them all. Idempotent, synchronous. */
  destroy(): void {
    if (this.destroyed) return
    this.destroyed = true
    process.removeListener('exit', this.onExit)
    for (const c of this.children) c.kill('SIGKILL')
    this.children.clear()
    // deleting a namespace deletes its veth ends, and with them their peers (the root leg too)
    for (const name of [...this.nodes.map((n) => n.ns), this.bridgeNs]) {
      try {
        ip(['netns', 'del', name])
      } catch {
        // never created, or already gone
      }
      rmSync(`${NETNS_ETC}/${name}`, { recursive: true, force: true })
    }
    try {
      ip(['link', 'del', this.hostLink])
    } catch {
      // gone with the bridge namespace
    }
  }
}

/** Packets an nftables loss rule saw and dropped in one namespace. */
export interface LossCounters {
  readonly packets: number
  readonly dropped: number
}

/**
 * Drops `tenths`/10 of the UDP packets arriving at `port` in node i's namespace (nftables:
 * `udp dport PORT numgen random mod 10 < TENTHS drop`), counting what it saw and dropped.
 */
export function addUdpLoss(net: NetnsNetwork, i: number, port: number, tenths: number): void {
  net.exec(
    i,
    'nft',
    ['-f', '-'],
    `table inet commy_loss {
  chain input {
    type filter hook input priority 0; policy accept;
    udp dport ${port} counter
    udp dport ${port} numgen random mod 10 < ${tenths} counter drop
  }
}
`,
  )
}

export function lossCounters(net: NetnsNetwork, i: number): LossCounters {
  const text = net.exec(i, 'nft', ['list', 'table', 'inet', 'commy_loss'])
  const counts = [...text.matchAll(/counter packets (\d+)/g)].map((m) => Number(m[1]))
  return { packets: counts[0] ?? 0, dropped: counts[1] ?? 0 }
}
