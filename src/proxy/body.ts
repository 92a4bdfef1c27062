/**
 * Reads a small request body into memory so that a retry can send it again
 * (only when its Content-Length is at most `retries.maxBufferedBody`).
 */
import type { Readable } from 'node:stream'
import { BadRequestError, ClientAbortedError } from '../errors.js'

export function readBody(stream: Readable, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const cleanup = () => {
      stream.off('data', onData)
      stream.off('end', onEnd)
      stream.off('error', onError)
      stream.off('close', onClose)
    }
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size > limit) {
        cleanup()
        reject(new BadRequestError(`request body is larger than its Content-Length`))
        return
      }
      chunks.push(chunk)
    }
    const onEnd = () => {
      cleanup()
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size))
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
