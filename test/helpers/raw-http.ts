/**
 * Hand-written HTTP/1.1 on a raw TCP socket, for framing tests: write exact bytes, read exact
 * responses (Content-Length framed, as commy's answers are), and see whether the peer closed.
 * Also a raw upstream (net.Server) that answers every request with bytes the test chooses and
 * counts the connections it accepted.
 */
import net from 'node:net'

export interface RawResponse {
  readonly status: number
  /** Lower-cased names; repeated headers joined with ', '. */
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
}

/** One client connection to 127.0.0.1:port. */
export class RawClient {
  private buf = ''
  private closed = false
  private readonly socket: net.Socket
  private wake: (() => void) | undefined

  private constructor(socket: net.Socket) {
    this.socket = socket
    socket.setEncoding('latin1')
    socket.on('data', (d: string) => {
      this.buf += d
      this.wake?.()
    })
    socket.on('error', () => {})
    socket.on('close', () => {
      this.closed = true
      this.wake?.()
    })
  }

  static connect(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => resolve(new RawClient(s)))
      s.once('error', reject)
    })
  }

  send(bytes: string): void {
    if (!this.socket.destroyed) this.socket.write(bytes, 'latin1')
  }

  /** Reads one complete response (headers and a Content-Length body); rejects after `ms`. */
  async response(ms = 5000): Promise<RawResponse> {
    const end = Date.now() + ms
    for (;;) {
      const r = this.take()
      if (r !== undefined) return r
      if (this.closed) throw new Error(`connection closed before a complete response: ${JSON.stringify(this.buf.slice(0, 200))}`)
      if (Date.now() >= end) throw new Error(`no complete response within ${ms}ms: ${JSON.stringify(this.buf.slice(0, 200))}`)
      await this.wait(end - Date.now())
    }
  }

  /** Resolves true once the server has closed the connection, false when `ms` passed first. */
  async closedWithin(ms = 3000): Promise<boolean> {
    const end = Date.now() + ms
    while (!this.closed && Date.now() < end) await this.wait(end - Date.now())
    return this.closed
  }

  /** Bytes received and not yet taken as a response. */
  get rest(): string {
    return this.buf
  }

  destroy(): void {
    this.socket.destroy()
  }

  private wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, Math.max(1, ms))
      function done() {
        clearTimeout(timer)
        resolve()
      }
      this.wake = done
    })
  }

  private take(): RawResponse | undefined {
    const head = this.buf.indexOf('\r\n\r\n')
    if (head < 0) return undefined
    const lines = this.buf.slice(0, head).split('\r\n')
    const status = Number(lines[0]!.split(' ')[1])
    const headers: Record<string, string> = {}
    for (const l of lines.slice(1)) {
      const c = l.indexOf(':')
      const name = l.slice(0, c).trim().toLowerCase()
      const value = l.slice(c + 1).trim()
      headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`
    }
    const length = Number(headers['content-length'] ?? 0)
    if (this.buf.length < head + 4 + length) return undefined
    const body = this.buf.slice(head + 4, head + 4 + length)
    this.buf = this.buf.slice(head + 4 + length)
    return { status, headers, body }
  }
}

/** What the raw upstream writes for a request: bytes, or bytes and then close the connection. */
export type RawAnswer = string | { readonly bytes: string; readonly close: true }

/** A raw upstream: answers each request (once its header section arrived) with `answer(path)`. */
export interface RawUpstream {
  readonly port: number
  readonly address: string
  /** Connections accepted so far. */
  readonly connections: () => number
  /** Request heads received so far (request line and headers, as sent). */
  readonly heads: string[]
  close(): Promise<void>
}

export async function startRawUpstream(answer: (path: string) => RawAnswer): Promise<RawUpstream> {
  let connections = 0
  const heads: string[] = []
  const sockets = new Set<net.Socket>()
  const server = net.createServer((s) => {
    connections++
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
    s.on('error', () => {})
    s.setEncoding('latin1')
    let buf = ''
    s.on('data', (d: string) => {
      buf += d
      for (let end = buf.indexOf('\r\n\r\n'); end >= 0; end = buf.indexOf('\r\n\r\n')) {
        const head = buf.slice(0, end)
        buf = buf.slice(end + 4) // the tests send body-less requests upstream
        heads.push(head)
        const a = answer(head.split(' ')[1] ?? '/')
        if (typeof a === 'string') s.write(a, 'latin1')
        else s.end(a.bytes, 'latin1')
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as net.AddressInfo).port
  return {
    port,
    address: `127.0.0.1:${port}`,
    connections: () => connections,
    heads,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
}
