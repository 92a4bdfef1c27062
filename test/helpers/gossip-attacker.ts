/**
 * A hostile client of the gossip TCP port, for the attack tests and bench/gossip-attack.ts:
 * connections held idle (reopened a moment after the node closes them), and streams that
 * announce a frame and send it. Loopback only; `sources` picks local addresses in 127.0.0.0/8
 * so the node sees several remote addresses.
 */
import net from 'node:net'

export interface Target {
  readonly host: string
  readonly port: number
}

function connect(to: Target, localAddress: string | undefined): net.Socket {
  const sock = net.connect({ host: to.host, port: to.port, ...(localAddress !== undefined ? { localAddress } : {}) })
  sock.on('error', () => {})
  return sock
}

/** `count` idle connections kept open: each one the node closes is opened again after `reopenMs`. */
export class IdleConnections {
  private readonly sockets = new Set<net.Socket>()
  private readonly timers = new Set<NodeJS.Timeout>()
  private stopped = false
  /** Connections opened so far (the first `count` and every reopen). */
  opened = 0

  constructor(
    private readonly to: Target,
    private readonly count: number,
    private readonly options: { readonly sources?: readonly string[]; readonly reopenMs?: number } = {},
  ) {}

  /** Opens the connections; resolves once each has connected (or failed) once. */
  async start(): Promise<void> {
    const first: Promise<void>[] = []
    for (let i = 0; i < this.count; i++) first.push(this.open(i))
    await Promise.all(first)
  }

  /** Connections open now. */
  get held(): number {
    return this.sockets.size
  }

  private open(i: number): Promise<void> {
    if (this.stopped) return Promise.resolve()
    const sources = this.options.sources
    const sock = connect(this.to, sources === undefined ? undefined : sources[i % sources.length])
    this.opened++
    this.sockets.add(sock)
    sock.once('close', () => {
      this.sockets.delete(sock)
      if (this.stopped) return
      const timer = setTimeout(() => {
        this.timers.delete(timer)
        void this.open(i)
      }, this.options.reopenMs ?? 50)
      this.timers.add(timer)
    })
    return new Promise<void>((resolve) => {
      sock.once('connect', () => resolve())
      sock.once('close', () => resolve())
    })
  }

  stop(): void {
    this.stopped = true
    for (const t of this.timers) clearTimeout(t)
    this.timers.clear()
    for (const s of this.sockets) s.destroy()
    this.sockets.clear()
  }
}

/**
 * Opens one stream that announces `announced` bytes and sends `send` bytes of them (garbage), in
 * 64 KiB writes that wait for the socket to drain. Resolves with the bytes written when the node
 * closes the stream.
 */
export function announceFrame(
  to: Target,
  announced: number,
  send: number,
  options: { readonly localAddress?: string; /** keep the stream open after sending (no FIN) */ readonly hold?: boolean; readonly onSocket?: (s: net.Socket) => void } = {},
): Promise<{ written: number }> {
  return new Promise((resolve) => {
    const sock = connect(to, options.localAddress)
    options.onSocket?.(sock)
    const chunk = Buffer.alloc(64 * 1024, 0xab)
    let written = 0
    let closed = false
    const pump = (): void => {
      while (!closed && written < send) {
        const n = Math.min(chunk.length, send - written)
        written += n
        if (!sock.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
          sock.once('drain', pump)
          return
        }
      }
      if (!closed && options.hold !== true) sock.end()
    }
    sock.once('connect', () => {
      const head = Buffer.allocUnsafe(4)
      head.writeUInt32BE(announced, 0)
      sock.write(head)
      pump()
    })
    sock.once('close', () => {
      closed = true
      resolve({ written })
    })
  })
}
