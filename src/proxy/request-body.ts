/**
 * Request buffering (nginx's idea): a request body is read into memory before an endpoint is
 * picked, up to a limit, so a client that sends its body slowly never holds a pooled upstream
 * connection while it trickles. A body that ends within the limit is sent from memory (and can be
 * replayed by a retry); a longer one is sent as the buffered head followed by the rest, streamed.
 * The one rule for how much is read first is `bufferLimit`.
 */
import { Readable } from 'node:stream'
import { ClientAbortedError } from '../errors.js'
import type { Retry } from './retry.js'

/**
 * Bytes of a request body read before an endpoint is picked: `limits.requestBufferSize`, or
 * more when the route may replay the body on a retry (`retries.maxBufferedBody` for the methods
 * it retries).
 */
export function bufferLimit(requestBufferSize: number, retry: Retry, method: string): number {
  const replay = retry.replayLimit(method)
  return replay > requestBufferSize ? replay : requestBufferSize
}

/** What `readHead` read: the whole body (`ended`), or its first bytes with more to come. */
export interface BodyHead {
  readonly data: Buffer
  readonly ended: boolean
}

/**
 * Reads `stream` until it ends or at least `limit` bytes arrived; in the second case the stream
 * is left paused with the rest unread. Rejects with ClientAbortedError when the stream fails or
 * closes early.
 */
export function readHead(stream: Readable, limit: number): Promise<BodyHead> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const cleanup = () => {
      stream.off('data', onData)
      stream.off('end', onEnd)
      stream.off('error', onError)
      stream.off('close', onClose)
    }
    let settled = false
    const onData = (chunk: Buffer) => {
      chunks.push(chunk)
      size += chunk.length
      if (size < limit) return
      stream.pause()
      stream.off('data', onData)
      // the body's end may already be buffered behind this chunk: its 'end' is emitted on the
      // next tick, before anyone else could listen for it; wait for that tick, then decide
      process.nextTick(onLimit)
    }
    const onLimit = () => {
      if (settled) return
      settled = true
      cleanup()
      resolve({ data: join(chunks, size), ended: false })
    }
    const onEnd = () => {
      if (settled) return
      settled = true
      cleanup()
      resolve({ data: join(chunks, size), ended: true })
    }
    const onError = () => {
      if (settled) return
      settled = true
      cleanup()
      reject(new ClientAbortedError())
    }
    const onClose = () => {
      if (stream.readableEnded || settled) return
      settled = true
      cleanup()
      reject(new ClientAbortedError())
    }
    stream.on('data', onData)
    stream.on('end', onEnd)
    stream.on('error', onError)
    stream.on('close', onClose)
  })
}

function join(chunks: Buffer[], size: number): Buffer {
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)
}

/**
 * The buffered head of a body, then the rest of the client's stream, with backpressure both
 * ways. The client failing (or leaving) fails this stream with the same error, so the transport
 * sees the client's fault, not the endpoint's.
 */
export class PrefixedBody extends Readable {
  private head: Buffer | null
  private readonly rest: Readable

  constructor(head: Buffer, rest: Readable) {
    super()
    this.head = head
    this.rest = rest
    rest.pause()
    rest.on('data', this.onData)
    rest.on('end', this.onEnd)
    rest.on('error', this.onError)
    rest.on('close', this.onClose)
  }

  override _read(): void {
    const head = this.head
    if (head !== null) {
      this.head = null
      if (!this.push(head)) return
    }
    this.rest.resume()
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.detach()
    cb(err)
  }

  private readonly onData = (chunk: Buffer): void => {
    if (!this.push(chunk)) this.rest.pause()
  }
  private readonly onEnd = (): void => {
    this.detach()
    this.push(null)
  }
  private readonly onError = (err: Error): void => {
    this.destroy(err)
  }
  private readonly onClose = (): void => {
    if (!this.rest.readableEnded) this.destroy(new ClientAbortedError())
  }

  private detach(): void {
    const rest = this.rest
    rest.off('data', this.onData)
    rest.off('end', this.onEnd)
    rest.off('error', this.onError)
    rest.off('close', this.onClose)
  }
}
