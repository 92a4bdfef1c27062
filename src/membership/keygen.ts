/**
 * `commy keygen`: a new gossip key, base64 of 32 random bytes (AES-256-GCM). Keys of 16 or 24
 * bytes (AES-128/192) are accepted too. Pure functions: main.ts prints the result.
 */
import { randomBytes } from 'node:crypto'
import { GossipKeyError } from './errors.js'

export const KEY_BYTES = 32

export function generateKey(bytes: (n: number) => Buffer = randomBytes): string {
  return bytes(KEY_BYTES).toString('base64')
}

/** The key bytes of a base64 key, or a GossipKeyError that says what is wrong. */
export function parseKey(text: string): Buffer {
  const trimmed = text.trim()
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(trimmed)) throw new GossipKeyError('a gossip key is base64 (make one with `commy keygen`)')
  const key = Buffer.from(trimmed, 'base64')
  if (![16, 24, 32].includes(key.length)) throw new GossipKeyError(`a gossip key is 16, 24 or 32 bytes, this one is ${key.length}`)
  return key
}
