/**
 * A test-owned TCP relay on 127.0.0.1:0 that forwards every connection to one target and keeps a
 * copy of every byte in both directions: a packet capture between two sidecars, without root.
 * `plaintextIn(bytes, markers)` is the check the capture tests make (and their plaintext control).
 */
import net from 'node:net'

export interface TcpRelay {
  readonly port: number
  /** `127.0.0.1:port` */
  readonly address: string
  /** Connections accepted so far. */
  readonly connections: number
  /** Every byte relayed, client → target and target → client, in arrival order per direction. */
  captured(): { readonly toTarget: Buffer; readonly toClient: Buffer }
  /** Forgets what was captured so far. */
  clear(): void
  close(): Promise<void>
}

export async function startRelay(target: { readonly host: string; readonly port: number }): Promise<TcpRelay> {
  let toTarget: Buffer[] = []
  let toClient: Buffer[] = []
  let connections = 0
  const sockets = new Set<net.Socket>()
  const track = (s: net.Socket) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
    s.on('error', () => s.destroy())
  }
  const server = net.createServer((client) => {
    connections++
    const upstream = net.connect(target.port, target.host)
    track(client)
    track(upstream)
    client.on('data', (d: Buffer) => {
      toTarget.push(Buffer.from(d))
      upstream.write(d)
    })
    upstream.on('data', (d: Buffer) => {
      toClient.push(Buffer.from(d))
      client.write(d)
    })
    client.on('end', () => upstream.end())
    upstream.on('end', () => client.end())
    client.on('close', () => upstream.destroy())
    upstream.on('close', () => client.destroy())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as net.AddressInfo).port
  return {
    port,
    address: `127.0.0.1:${port}`,
    get connections() {
      return connections
    },
    captured: () => ({ toTarget: Buffer.concat(toTarget), toClient: Buffer.concat(toClient) }),
    clear: () => {
      toTarget = []
      toClient = []
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        for (const s of sockets) s.destroy()
      }),
  }
}

/** The markers (case-insensitive, as latin1 text) that appear anywhere in `bytes`. */
export function plaintextIn(bytes: Buffer, markers: readonly string[]): string[] {
  const text = bytes.toString('latin1').toLowerCase()
  return markers.filter((m) => text.includes(m.toLowerCase()))
}
