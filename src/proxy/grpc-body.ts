/**
 * Request buffering for gRPC calls. A call's body is a stream of length-prefixed messages
 * (1 byte flag, 4 bytes length, the message), and commy cannot tell a unary call from a
 * client or bidirectional stream by its head. Reading "until the body ends or the limit" as for
 * plain HTTP (proxy/request-body.ts) would hold a streaming call whose client waits for an answer
 * before it sends more (a ping-pong bidi stream) forever. So a gRPC body is read until it ends,
 * the limit is reached, or it holds whole messages and nothing more arrived by the next turn of
 * the event loop (setImmediate): a unary call's message and its END_STREAM arrive together and
 * are buffered whole (replayable by a retry); a stream goes on streaming after its first messages.
 */
import type { Readable } from 'node:stream'
import { ClientAbortedError } from '../errors.js'
import type { BodyHead } from './request-body.js'

/** The buffered bytes are whole gRPC messages (no message cut in the middle). */
export function wholeMessages(chunks: readonly Buffer[], size: number): boolean {
  if (size === 0) return false
  const data = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)
  let at = 0
  while (at + 5 <= size) {
    at += 5 + data.readUInt32BE(at + 1)
    if (at === size) return true
  }
  return false
}

/** Like `readHead`, plus the early stop on whole messages (see the module comment). */
export function readGrpcHead(stream: Readable, limit: number): Promise<BodyHead> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    let check: NodeJS.Immediate | null = null
    const cleanup = () => {
      if (check !== null) clearImmediate(check)
      check = null
      stream.off('data', onData)
      stream.off('end', onEnd)
      stream.off('error', onError)
      stream.off('close', onClose)
    }
    const settle = () => {
      check = null
      if (!wholeMessages(chunks, size)) return
      stream.pause()
      cleanup()
      resolve({ data: join(chunks, size), ended: false })
    }
    const onData = (chunk: Buffer) => {
      chunks.push(chunk)
      size += chunk.length
      if (size >= limit) {
        stream.pause()
        cleanup()
        resolve({ data: join(chunks, size), ended: false })
        return
      }
      if (check !== null) clearImmediate(check)
      check = setImmediate(settle)
    }
    const onEnd = () => {
      cleanup()
      resolve({ data: join(chunks, size), ended: true })
    }
    const onError = () => {
      cleanup()
      reject(new ClientAbortedError())
    }
    const onClose = () => {
      if (stream.readableEnded) return
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
