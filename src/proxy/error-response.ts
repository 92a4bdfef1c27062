/**
 * JSON error answers: `{"error": "...", "code": "COMMY_ERR_...", "requestId": "...", "service"?}`
 * with the status of the error's code (ERRORS in src/errors.ts).
 */
import { STATUS_CODES, type ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import type { CommyError } from '../errors.js'
import { isGrpcResponse, sendGrpcError } from './grpc-errors.js'

export function errorBody(err: CommyError, requestId: string, service: string | undefined): string {
  const message = service !== undefined && err.service !== service ? `service "${service}": ${err.message}` : err.message
  return JSON.stringify(service === undefined ? { error: message, code: err.code, requestId } : { error: message, code: err.code, requestId, service })
}

/** Sends the error (a gRPC call gets a gRPC error: proxy/grpc-errors.ts), or cuts the connection when a response was already started. */
export function sendError(res: ServerResponse, err: CommyError, requestId: string, service: string | undefined, keepAlive: boolean): void {
  if (res.headersSent) {
    res.destroy()
    return
  }
  if (isGrpcResponse(res)) {
    sendGrpcError(res, err, requestId, service, keepAlive)
    return
  }
  const body = errorBody(err, requestId, service)
  if (!keepAlive) res.shouldKeepAlive = false
  res.writeHead(err.status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'x-request-id': requestId,
    'cache-control': 'no-store',
  })
  res.end(body)
}

/**
 * Writes a complete JSON error response on a raw socket (client errors, refused upgrades) and
 * closes it: destroyed once the answer is flushed, whatever the client still sends.
 */
export function sendRawError(socket: Duplex, err: CommyError, requestId: string, service?: string): void {
  const body = errorBody(err, requestId, service)
  socket.end(
    `HTTP/1.1 ${err.status} ${STATUS_CODES[err.status] ?? 'Error'}\r\n` +
      'content-type: application/json; charset=utf-8\r\n' +
      `content-length: ${Buffer.byteLength(body)}\r\n` +
      (requestId !== '' ? `x-request-id: ${requestId}\r\n` : '') +
      'connection: close\r\n\r\n' +
      body,
    () => socket.destroy(),
  )
}
