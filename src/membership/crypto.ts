/**
 * Gossip encryption: an AES-GCM keyring (the first key encrypts, every key decrypts, so keys can
 * be rotated by adding the new one everywhere, then making it first, then removing the old one),
 * with the cluster name as associated data so two meshes sharing a key cannot mix; and a replay
 * window (per sender, per channel: a sliding bitmap of sequence numbers plus a maximum age), so a
 * captured packet played again changes nothing. AES-128/192/256-GCM by key length (16/24/32 bytes).
 */
import { createCipheriv, createDecipheriv, randomFillSync, type CipherGCMTypes } from 'node:crypto'
import { GossipKeyError } from './errors.js'

export const NONCE_BYTES = 12
export const TAG_BYTES = 16

function algorithm(key: Buffer): CipherGCMTypes {
  switch (key.length) {
    case 16:
      return 'aes-128-gcm'
    case 24:
      return 'aes-192-gcm'
    case 32:
      return 'aes-256-gcm'
    default:
      throw new GossipKeyError(`a gossip key is 16, 24 or 32 bytes, not ${key.length}`)
  }
}

export class Keyring {
  private readonly keys: readonly { key: Buffer; alg: CipherGCMTypes }[]
  private readonly nonces = Buffer.allocUnsafe(NONCE_BYTES * 256)
  private noncePos = this.nonces.length

  constructor(keys: readonly Buffer[]) {
    if (keys.length === 0) throw new GossipKeyError('a keyring needs at least one key')
    this.keys = keys.map((key) => ({ key, alg: algorithm(key) }))
  }

  get size(): number {
    return this.keys.length
  }

  /** `[nonce 12][ciphertext][tag 16]`, with the primary key. */
  seal(plain: Uint8Array, aad: Uint8Array): Buffer {
    const { key, alg } = this.keys[0]!
    const out = Buffer.allocUnsafe(NONCE_BYTES + plain.length + TAG_BYTES)
    this.nonce().copy(out, 0)
    const c = createCipheriv(alg, key, out.subarray(0, NONCE_BYTES), { authTagLength: TAG_BYTES })
    c.setAAD(aad)
    const a = c.update(plain)
    a.copy(out, NONCE_BYTES)
    const b = c.final()
    b.copy(out, NONCE_BYTES + a.length)
    c.getAuthTag().copy(out, NONCE_BYTES + plain.length)
    return out
  }

  /** The plaintext, or undefined when no key authenticates it. Never throws. */
  open(sealed: Uint8Array, aad: Uint8Array): Buffer | undefined {
    if (sealed.length < NONCE_BYTES + TAG_BYTES) return undefined
    const nonce = sealed.subarray(0, NONCE_BYTES)
    const body = sealed.subarray(NONCE_BYTES, sealed.length - TAG_BYTES)
    const tag = sealed.subarray(sealed.length - TAG_BYTES)
    for (const { key, alg } of this.keys) {
      try {
        const d = createDecipheriv(alg, key, nonce, { authTagLength: TAG_BYTES })
        d.setAAD(aad)
        d.setAuthTag(tag)
        const a = d.update(body)
        const b = d.final()
        return b.length === 0 ? a : Buffer.concat([a, b])
      } catch {
        // wrong key or tampered: try the next key
      }
    }
    return undefined
  }

  private nonce(): Buffer {
    if (this.noncePos + NONCE_BYTES > this.nonces.length) {
      randomFillSync(this.nonces)
      this.noncePos = 0
    }
    const n = this.nonces.subarray(this.noncePos, this.noncePos + NONCE_BYTES)
    this.noncePos += NONCE_BYTES
    return n
  }
}

export type ReplayVerdict = 'ok' | 'replay' | 'stale'

interface SenderWindow {
  highest: number
  bits: Uint32Array
  lastSentAt: number
}

export interface ReplayWindowOptions {
  /** Oldest sentAt (ms, sender's wall clock) accepted, and how long a silent sender is remembered. */
  readonly maxAgeMs: number
  /** Sequence numbers tracked behind the highest one seen (multiple of 32). */
  readonly size?: number
  readonly maxSenders?: number
}

/**
 * Remembers, per sender, which sequence numbers it has seen (a sliding bitmap behind the highest)
 * and rejects a packet older than `maxAgeMs` outright; a sender silent for longer than that is
 * forgotten, which is safe because anything of its we could still be fed is too old anyway.
 */
export class ReplayWindow {
  private readonly senders = new Map<string, SenderWindow>()
  private readonly maxAgeMs: number
  private readonly size: number
  private readonly maxSenders: number
  private checks = 0

  constructor(options: ReplayWindowOptions) {
    this.maxAgeMs = options.maxAgeMs
    this.size = Math.max(32, Math.ceil((options.size ?? 1024) / 32) * 32)
    this.maxSenders = options.maxSenders ?? 100_000
  }

  check(sender: string, seq: number, sentAt: number, now: number): ReplayVerdict {
    if (Math.abs(now - sentAt) > this.maxAgeMs) return 'stale'
    if (++this.checks % 1024 === 0) this.sweep(now)
    let w = this.senders.get(sender)
    if (w === undefined) {
      if (this.senders.size >= this.maxSenders) this.evictOldest()
      w = { highest: seq, bits: new Uint32Array(this.size / 32), lastSentAt: sentAt }
      this.senders.set(sender, w)
      this.mark(w, seq)
      return 'ok'
    }
    if (seq > w.highest) {
      const gap = seq - w.highest
      if (gap >= this.size) w.bits.fill(0)
      else for (let s = w.highest + 1; s <= seq; s++) this.clear(w, s)
      w.highest = seq
    } else if (w.highest - seq >= this.size) return 'stale'
    else if (this.seen(w, seq)) return 'replay'
    this.mark(w, seq)
    if (sentAt > w.lastSentAt) w.lastSentAt = sentAt
    return 'ok'
  }

  get senderCount(): number {
    return this.senders.size
  }

  private slot(seq: number): [number, number] {
    const i = seq % this.size
    return [i >>> 5, 1 << (i & 31)]
  }
  private seen(w: SenderWindow, seq: number): boolean {
    const [word, bit] = this.slot(seq)
    return (w.bits[word]! & bit) !== 0
  }
  private mark(w: SenderWindow, seq: number): void {
    const [word, bit] = this.slot(seq)
    w.bits[word]! |= bit
  }
  private clear(w: SenderWindow, seq: number): void {
    const [word, bit] = this.slot(seq)
    w.bits[word]! &= ~bit
  }
  private sweep(now: number): void {
    for (const [k, w] of this.senders) if (now - w.lastSentAt > this.maxAgeMs * 2) this.senders.delete(k)
  }
  private evictOldest(): void {
    let oldest: string | undefined
    let at = Infinity
    for (const [k, w] of this.senders) {
      if (w.lastSentAt < at) {
        at = w.lastSentAt
        oldest = k
      }
    }
    if (oldest !== undefined) this.senders.delete(oldest)
  }
}
