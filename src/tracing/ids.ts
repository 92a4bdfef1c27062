/**
 * Random trace ids (16 bytes) and span ids (8 bytes) as lower-case hex, cut from a pool of random
 * bytes refilled 4 KiB at a time (one `randomFillSync` per ~250 span ids). Never all zeros.
 */
import { randomFillSync } from 'node:crypto'

const POOL = 4096

export class Ids {
  private readonly pool = Buffer.allocUnsafe(POOL)
  private at = POOL

  traceId(): string {
    return this.hex(16, '00000000000000000000000000000000')
  }

  spanId(): string {
    return this.hex(8, '0000000000000000')
  }

  private hex(bytes: number, zero: string): string {
    for (;;) {
      if (this.at + bytes > POOL) {
        randomFillSync(this.pool)
        this.at = 0
      }
      const from = this.at
      this.at += bytes
      const id = this.pool.toString('hex', from, from + bytes)
      if (id !== zero) return id
    }
  }
}
