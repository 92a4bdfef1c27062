/**
 * A raw HTTP/2 frame writer for hardening tests: a plain TCP socket that writes whatever frames
 * a test builds (floods, invalid sequences, a preface in pieces) and parses what comes back.
 * Header blocks are HPACK literals without indexing or Huffman coding (RFC 7541 §6.2.2), which
 * every decoder accepts.
 */
import net from 'node:net'

export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1')

export const FrameType = { DATA: 0, HEADERS: 1, PRIORITY: 2, RST_STREAM: 3, SETTINGS: 4, PING: 6, GOAWAY: 7, WINDOW_UPDATE: 8, CONTINUATION: 9 } as const
export const Flag = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4 } as const
export const ErrorCode = { NO_ERROR: 0, PROTOCOL_ERROR: 1, INTERNAL_ERROR: 2, REFUSED_STREAM: 7, CANCEL: 8, ENHANCE_YOUR_CALM: 11 } as const

export interface Frame {
  readonly type: number
  readonly flags: number
  readonly stream: number
  readonly payload: Buffer
}

export function frame(type: number, flags: number, stream: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(9)
  head.writeUIntBE(payload.length, 0, 3)
  head[3] = type
  head[4] = flags
  head.writeUInt32BE(stream & 0x7fffffff, 5)
  return Buffer.concat([head, payload])
}

/** An HPACK integer with an `n`-bit prefix (first byte's high bits: `high`). */
function hpackInt(value: number, n: number, high: number): number[] {
  const max = (1 << n) - 1
  if (value < max) return [high | value]
  const out = [high | max]
  value -= max
  while (value >= 128) {
    out.push((value & 0x7f) | 0x80)
    value >>= 7
  }
  out.push(value)
  return out
}

/** A header block of literal fields (without indexing, no Huffman). */
export function headerBlock(fields: readonly (readonly [string, string])[]): Buffer {
  const parts: Buffer[] = []
  for (const [name, value] of fields) {
    const n = Buffer.from(name, 'latin1')
    const v = Buffer.from(value, 'latin1')
    parts.push(Buffer.from([0x00, ...hpackInt(n.length, 7, 0)]), n, Buffer.from(hpackInt(v.length, 7, 0)), v)
  }
  return Buffer.concat(parts)
}

/** The fields of a GET (or `method`) request to `path` on `authority`. */
export function requestFields(path: string, authority = 'svc', method = 'GET', extra: readonly (readonly [string, string])[] = []): (readonly [string, string])[] {
  return [[':method', method], [':scheme', 'http'], [':path', path], [':authority', authority], ...extra]
}

export const settings = (entries: readonly (readonly [number, number])[] = []): Buffer => {
  const p = Buffer.alloc(6 * entries.length)
  entries.forEach(([id, v], i) => {
    p.writeUInt16BE(id, 6 * i)
    p.writeUInt32BE(v, 6 * i + 2)
  })
  return frame(FrameType.SETTINGS, 0, 0, p)
}
export const settingsAck = (): Buffer => frame(FrameType.SETTINGS, Flag.ACK, 0)
export const ping = (n = 0): Buffer => {
  const p = Buffer.alloc(8)
  p.writeUInt32BE(n, 4)
  return frame(FrameType.PING, 0, 0, p)
}
export const rst = (stream: number, code: number = ErrorCode.CANCEL): Buffer => {
  const p = Buffer.alloc(4)
  p.writeUInt32BE(code)
  return frame(FrameType.RST_STREAM, 0, stream, p)
}
export const headers = (stream: number, block: Buffer, flags: number = Flag.END_HEADERS | Flag.END_STREAM): Buffer => frame(FrameType.HEADERS, flags, stream, block)
export const continuation = (stream: number, block: Buffer, flags = 0): Buffer => frame(FrameType.CONTINUATION, flags, stream, block)

/** A raw client connection: write bytes, read frames. */
export class RawH2 {
  readonly frames: Frame[] = []
  closed = false
  private buf = Buffer.alloc(0)
  private waiters: (() => void)[] = []

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d])
      while (this.buf.length >= 9) {
        const len = this.buf.readUIntBE(0, 3)
        if (this.buf.length < 9 + len) break
        this.frames.push({ type: this.buf[3]!, flags: this.buf[4]!, stream: this.buf.readUInt32BE(5) & 0x7fffffff, payload: this.buf.subarray(9, 9 + len) })
        this.buf = this.buf.subarray(9 + len)
      }
      this.wake()
    })
    socket.on('error', () => {})
    socket.on('close', () => {
      this.closed = true
      this.wake()
    })
  }

  /** Connects; with `preface` (default) sends the preface and an empty SETTINGS frame. */
  static async connect(port: number, preface = true): Promise<RawH2> {
    const socket = net.connect(port, '127.0.0.1')
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve)
      socket.once('error', reject)
    })
    socket.setNoDelay(true)
    const c = new RawH2(socket)
    if (preface) c.write(Buffer.concat([PREFACE, settings()]))
    return c
  }

  /** Writes; false once the socket is gone (a flood may be cut mid-way). */
  write(data: Buffer): boolean {
    if (this.socket.destroyed || !this.socket.writable) return false
    this.socket.write(data)
    return true
  }

  /** The first GOAWAY received: its error code, or undefined. */
  goaway(): number | undefined {
    const g = this.frames.find((f) => f.type === FrameType.GOAWAY)
    return g?.payload.readUInt32BE(4)
  }

  /** Resolves when `cond` holds (checked on every frame and at close) or after `ms`: its final value. */
  async until(cond: () => boolean, ms = 3000): Promise<boolean> {
    const end = Date.now() + ms
    while (!cond()) {
      const left = end - Date.now()
      if (left <= 0 || (this.closed && !cond())) return cond()
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 50))
        this.waiters.push(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
    return true
  }

  close(): void {
    this.socket.destroy()
  }

  private wake(): void {
    const w = this.waiters
    this.waiters = []
    for (const f of w) f()
  }
}
