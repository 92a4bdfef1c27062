/**
 * How the admin server answers: JSON bodies, JSON errors `{code, message, status}`, and the
 * headers every response carries (no caching of state, no sniffing, no framing).
 */
import type { ServerResponse } from 'node:http'
import { CommyError } from '../errors.js'
import { AdminMethodNotAllowedError, AdminUnauthorizedError } from './errors.js'

const COMMON = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
} as const

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body)
  res.writeHead(status, {
    ...COMMON,
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'content-length': String(Buffer.byteLength(text)),
    ...headers,
  })
  res.end(text)
}

export function sendBody(res: ServerResponse, status: number, body: string | Buffer, contentType: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    ...COMMON,
    'content-type': contentType,
    'content-length': String(Buffer.byteLength(body)),
    ...headers,
  })
  res.end(body)
}

/** `{code, message, status}` plus `extra`; 401 adds WWW-Authenticate, 405 adds Allow. */
export function sendError(res: ServerResponse, err: CommyError, extra: Record<string, unknown> = {}): void {
  const headers: Record<string, string> = {}
  if (err instanceof AdminUnauthorizedError) headers['www-authenticate'] = 'Bearer realm="commy-admin"'
  if (err instanceof AdminMethodNotAllowedError) headers.allow = err.allow.join(', ')
  sendJson(res, err.status, { ...extra, code: err.code, message: err.message, status: err.status }, headers)
}

export function isCommyError(err: unknown): err is CommyError {
  return err instanceof CommyError
}
