/**
 * Request ids for requests that arrive without `x-request-id`: a per-process random prefix and a
 * counter, so generating one costs a string concatenation (no crypto per request). Unique per
 * sidecar process; the prefix keeps sidecars apart.
 */
import { randomBytes } from 'node:crypto'

export class RequestIds {
  readonly prefix: string
  private counter = 0

  /** `prefix` is injectable for tests; by default 12 random hex digits. */
  constructor(prefix: string = randomBytes(6).toString('hex')) {
    this.prefix = `${prefix}-`
  }

  readonly next = (): string => this.prefix + (++this.counter).toString(36)
}
