/**
 * Reads one `[length u32][bytes]` frame off a stream. The length is read first and checked
 * against the limit before a byte of the body is kept; body bytes are kept only while `charge`
 * (the shared buffered-bytes budget) accepts them; the complete frame is one buffer and the
 * chunks are let go at once.
 */
export type FrameRead =
  | { readonly state: 'header' | 'body' }
  | { readonly state: 'frame'; readonly frame: Buffer }
  | { readonly state: 'oversize'; readonly announced: number }
  | { readonly state: 'over-budget' }

const HEADER: FrameRead = Object.freeze({ state: 'header' })
const BODY: FrameRead = Object.freeze({ state: 'body' })
const OVER_BUDGET: FrameRead = Object.freeze({ state: 'over-budget' })

export class FrameReader {
  private readonly head = Buffer.alloc(4)
  private headHave = 0
  private want = -1
  private chunks: Buffer[] = []
  private have = 0

  constructor(
    private readonly maxBytes: number,
    /** Asks for `bytes` more of the budget; false refuses them (the frame is then abandoned). */
    private readonly charge: (bytes: number) => boolean = () => true,
  ) {}

  /** True once the 4-byte header has arrived. */
  get started(): boolean {
    return this.want >= 0
  }

  /** Takes the next chunk. Bytes past the end of the frame are ignored. */
  push(chunk: Buffer): FrameRead {
    let at = 0
    if (this.want < 0) {
      const n = Math.min(4 - this.headHave, chunk.length)
      chunk.copy(this.head, this.headHave, 0, n)
      this.headHave += n
      at = n
      if (this.headHave < 4) return HEADER
      this.want = this.head.readUInt32BE(0)
      if (this.want > this.maxBytes) return { state: 'oversize', announced: this.want }
    }
    const body = chunk.subarray(at, at + (this.want - this.have))
    if (body.length > 0) {
      if (!this.charge(body.length)) {
        this.chunks = []
        return OVER_BUDGET
      }
      this.chunks.push(body)
      this.have += body.length
    }
    if (this.have < this.want) return BODY
    const frame = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.want)
    this.chunks = []
    return { state: 'frame', frame }
  }
}

/** `data` with its 4-byte length header. */
export function frame(data: Buffer): Buffer {
  const head = Buffer.allocUnsafe(4)
  head.writeUInt32BE(data.length, 0)
  return Buffer.concat([head, data])
}
