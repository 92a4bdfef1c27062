/** Errors of the membership layer, each with a stable code (see src/errors.ts for the base). */
import { CommyError } from '../errors.js'

/** A wire message could not be decoded (truncated, oversized, bad field). Never leaves the decoder. */
export class GossipDecodeError extends CommyError {
  constructor(message: string) {
    super('COMMY_ERR_GOSSIP_DECODE', message)
  }
}

/** A push-pull exchange did not complete (refused, timed out, bad answer). */
export class GossipExchangeError extends CommyError {
  readonly peer: string
  constructor(peer: string, message: string, options?: { cause?: unknown }) {
    super('COMMY_ERR_GOSSIP_EXCHANGE', `push-pull with ${peer} failed: ${message}`, options)
    this.peer = peer
  }
}

/** The local metadata cannot be announced: it does not fit in one packet, or a field is too long. */
export class GossipMetaError extends CommyError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('COMMY_ERR_GOSSIP_META', message, options)
  }
}

/** A gossip key is not base64 of 16, 24 or 32 bytes. */
export class GossipKeyError extends CommyError {
  constructor(message: string) {
    super('COMMY_ERR_GOSSIP_KEY', message)
  }
}

/** The gossip transport could not bind its UDP/TCP sockets. */
export class GossipBindError extends CommyError {
  constructor(address: string, options?: { cause?: unknown }) {
    super('COMMY_ERR_GOSSIP_BIND', `could not bind gossip sockets on ${address}`, options)
  }
}
