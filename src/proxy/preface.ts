/**
 * HTTP/1.1 or HTTP/2 with prior knowledge (h2c) on one plaintext port, told apart by the first
 * bytes a client sends: an h2c client starts with the connection preface
 * `PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n` (RFC 9113 §3.4), which no HTTP/1.1 request line matches.
 *
 * `sniffPreface` reads until the bytes decide — most HTTP/1.1 requests on their first byte, a
 * preface split over several packets once all 24 bytes are in — then hands the socket on with
 * those bytes put back (`unshift`), paused: the HTTP/1.1 server resumes it, the HTTP/2 session
 * reads what is buffered itself. A client that sends nothing decisive within `timeoutMs` (the
 * listener's `limits.headersTimeout`) is closed. Costs one read per connection, nothing per request.
 */
import type { Socket } from 'node:net'

/** The client connection preface of HTTP/2. */
export const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1')

export type PrefaceVerdict = 'h1' | 'h2' | 'more'

/** What the bytes received so far say: HTTP/2 preface, HTTP/1.x, or not enough to tell. */
export function prefaceVerdict(received: Buffer): PrefaceVerdict {
  const n = Math.min(received.length, H2_PREFACE.length)
  for (let i = 0; i < n; i++) if (received[i] !== H2_PREFACE[i]) return 'h1'
  return n === H2_PREFACE.length ? 'h2' : 'more'
}

export interface SniffHandlers {
  /** An HTTP/1.x client: the socket is paused with its first bytes put back. */
  readonly h1: (socket: Socket) => void
  /** An h2c client: the socket is paused with the preface put back. */
  readonly h2: (socket: Socket) => void
}

/**
 * Reads the first bytes of `socket` and hands it to `h1` or `h2`; closes it after `timeoutMs`
 * (0: none) without a verdict. `pending` holds the socket until then (the listener closes those
 * on stop and drain: no protocol has them yet).
 */
export function sniffPreface(socket: Socket, timeoutMs: number, to: SniffHandlers, pending: Set<Socket>): void {
  let head: Buffer | undefined
  const timer = timeoutMs > 0 ? setTimeout(onTimeout, timeoutMs, socket) : undefined
  pending.add(socket)
  const done = () => {
    pending.delete(socket)
    if (timer !== undefined) clearTimeout(timer)
    socket.off('data', onData)
    socket.off('error', onEarlyError)
    socket.off('end', onEarlyError)
    socket.off('close', onEarlyClose)
  }
  const onEarlyClose = () => done()
  const onData = (chunk: Buffer) => {
    head = head === undefined ? chunk : Buffer.concat([head, chunk])
    const verdict = prefaceVerdict(head)
    if (verdict === 'more') return
    done()
    socket.pause()
    socket.unshift(head)
    if (verdict === 'h1') to.h1(socket)
    else to.h2(socket)
  }
  socket.on('data', onData)
  socket.on('error', onEarlyError)
  // the server allows half-open sockets: a client that leaves before a verdict is closed here
  socket.on('end', onEarlyError)
  socket.on('close', onEarlyClose)
}

function onTimeout(socket: Socket): void {
  socket.destroy()
}

/** An error or the client's end before a verdict: close the socket. */
function onEarlyError(this: Socket): void {
  this.destroy()
}
