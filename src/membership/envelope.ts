/**
 * What wraps every codec packet and push-pull frame on the wire.
 *
 *   plaintext: [0x11] [cluster length u8] [cluster] [payload]
 *   sealed:    [0x21] [nonce 12] AES-GCM( [boot id 8] [channel u8] [seq u64] [sent-at f64] [payload] ) [tag 16]
 *              associated data: [0x21] + cluster name
 *
 * With keys every packet and stream frame is sealed and a plaintext one is refused (and the other
 * way round). The boot id (random per process), channel, sequence number and send time feed the
 * replay window. Outcomes are returned, never thrown, so the caller counts them.
 */
import { randomBytes } from 'node:crypto'
import { Keyring, NONCE_BYTES, ReplayWindow, TAG_BYTES } from './crypto.js'

export const PLAIN_ENVELOPE = 0x11
export const SEALED_ENVELOPE = 0x21
const INNER_HEADER = 8 + 1 + 8 + 8

/** UDP packets and push-pull frames count their sequence numbers apart. */
export type Channel = 'packet' | 'stream'

export type OpenResult =
  | { readonly ok: true; readonly payload: Buffer }
  | { readonly ok: false; readonly reason: 'auth' | 'replay' | 'stale' | 'version' | 'cluster' | 'plaintext' | 'encrypted' }

export interface EnvelopeOptions {
  readonly keys: readonly Buffer[]
  readonly cluster: string
  /** Wall-clock ms (the injected clock's wallNow). */
  readonly wallNow: () => number
  /** Maximum packet age and replay memory (ms). Default 120 s. */
  readonly replayWindowMs?: number
}

export class Envelope {
  readonly encrypted: boolean
  /** Bytes the envelope adds to a payload. */
  readonly overhead: number
  private readonly keyring: Keyring | undefined
  private readonly cluster: Buffer
  private readonly aad: Buffer
  private readonly bootId = randomBytes(8)
  private readonly seq: Record<Channel, number> = { packet: 0, stream: 0 }
  private readonly replay: ReplayWindow
  private readonly wallNow: () => number

  constructor(options: EnvelopeOptions) {
    this.cluster = Buffer.from(options.cluster, 'utf8')
    if (this.cluster.length > 255) throw new RangeError('cluster name longer than 255 bytes')
    this.keyring = options.keys.length > 0 ? new Keyring(options.keys) : undefined
    this.encrypted = this.keyring !== undefined
    this.aad = Buffer.concat([Buffer.from([SEALED_ENVELOPE]), this.cluster])
    this.overhead = this.encrypted ? 1 + NONCE_BYTES + INNER_HEADER + TAG_BYTES : 2 + this.cluster.length
    this.replay = new ReplayWindow({ maxAgeMs: options.replayWindowMs ?? 120_000 })
    this.wallNow = options.wallNow
  }

  seal(payload: Uint8Array, channel: Channel): Buffer {
    if (this.keyring === undefined) {
      const out = Buffer.allocUnsafe(2 + this.cluster.length + payload.length)
      out[0] = PLAIN_ENVELOPE
      out[1] = this.cluster.length
      this.cluster.copy(out, 2)
      out.set(payload, 2 + this.cluster.length)
      return out
    }
    const inner = Buffer.allocUnsafe(INNER_HEADER + payload.length)
    this.bootId.copy(inner, 0)
    inner[8] = channel === 'packet' ? 0 : 1
    const seq = ++this.seq[channel]
    inner.writeUInt32BE(Math.floor(seq / 0x1_0000_0000), 9)
    inner.writeUInt32BE(seq >>> 0, 13)
    inner.writeDoubleBE(this.wallNow(), 17)
    inner.set(payload, INNER_HEADER)
    const sealed = this.keyring.seal(inner, this.aad)
    const out = Buffer.allocUnsafe(1 + sealed.length)
    out[0] = SEALED_ENVELOPE
    sealed.copy(out, 1)
    return out
  }

  open(data: Buffer, channel: Channel): OpenResult {
    if (data.length < 1) return { ok: false, reason: 'version' }
    const kind = data[0]
    if (kind === PLAIN_ENVELOPE) {
      if (this.keyring !== undefined) return { ok: false, reason: 'plaintext' }
      const n = data.length >= 2 ? data[1]! : -1
      if (n < 0 || data.length < 2 + n) return { ok: false, reason: 'cluster' }
      if (n !== this.cluster.length || !this.cluster.equals(data.subarray(2, 2 + n))) return { ok: false, reason: 'cluster' }
      return { ok: true, payload: data.subarray(2 + n) }
    }
    if (kind !== SEALED_ENVELOPE) return { ok: false, reason: 'version' }
    if (this.keyring === undefined) return { ok: false, reason: 'encrypted' }
    const inner = this.keyring.open(data.subarray(1), this.aad)
    if (inner === undefined || inner.length < INNER_HEADER) return { ok: false, reason: 'auth' }
    if (inner[8] !== (channel === 'packet' ? 0 : 1)) return { ok: false, reason: 'replay' }
    const sender = inner.toString('hex', 0, 9)
    const seq = inner.readUInt32BE(9) * 0x1_0000_0000 + inner.readUInt32BE(13)
    const sentAt = inner.readDoubleBE(17)
    const verdict = this.replay.check(sender, seq, sentAt, this.wallNow())
    if (verdict !== 'ok') return { ok: false, reason: verdict }
    return { ok: true, payload: inner.subarray(INNER_HEADER) }
  }
}
