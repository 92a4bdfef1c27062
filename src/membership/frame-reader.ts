/**
 * Reads one `[length u32][bytes]` frame off a stream. The length is read first and checked
 * against the limit before a byte of the body is kept; then the whole length is reserved from
 * the shared buffered-bytes budget (`reserve`) and the body is copied into one buffer of exactly
 * that size as it arrives: no chunk list, no concatenation, no second copy.
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
  private body: Buffer | undefined
  private have = 0

  constructor(
    private readonly maxBytes: number,
    /** Asks for a frame's `bytes` from the budget; false refuses them (the frame is then abandoned). */
    private readonly reserve: (bytes: number) => boolean = () => true,
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
      if (!this.reserve(this.want)) return OVER_BUDGET
      this.body = Buffer.allocUnsafe(this.want)
    }
    const body = this.body!
    this.have += chunk.copy(body, this.have, at, at + (this.want - this.have))
    if (this.have < this.want) return BODY
    this.body = undefined
    return { state: 'frame', frame: body }
  }
}

/** `data` with its 4-byte length header. */
export function frame(data: Buffer): Buffer {
  const head = Buffer.allocUnsafe(4)
  head.writeUInt32BE(data.length, 0)
  return Buffer.concat([head, data])
}
