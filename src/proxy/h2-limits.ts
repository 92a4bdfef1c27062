/**
 * HTTP/2 hardening of a listener (`limits.http2`): what Node's http2 server bounds itself, set
 * from the config, and the per-session frame budget it lacks.
 *
 * Node (nghttp2) enforces: concurrent streams (SETTINGS_MAX_CONCURRENT_STREAMS; streams past it
 * are refused, and a session with more than `maxRejectedStreams` refused streams is closed with
 * ENHANCE_YOUR_CALM), the header list size and pair count of one header block (HEADERS plus its
 * CONTINUATION frames: past either the stream is reset, which bounds a CONTINUATION flood), invalid
 * frames (`maxInvalidFrames`), entries per SETTINGS frame and session memory.
 *
 * `FrameBudget` adds, per session and per one-second window, a bound on streams the client resets
 * before their response ended (rapid reset, CVE-2023-44487: each reset stream cost us a routed,
 * balanced and cancelled upstream request) and on PING and SETTINGS frames (floods that cost an
 * ACK each). Over budget, the session is sent GOAWAY(ENHANCE_YOUR_CALM) and closed, and counted
 * as refused (`reason="abuse"`).
 */
import type { ServerOptions } from 'node:http2'
import type { Http2LimitsConfig, LimitsConfig } from '../config/types.js'

/** Pseudo-header fields a request carries besides its headers (:method, :scheme, :path, :authority). */
const PSEUDO_HEADERS = 4

/** The http2 server options of a listener's limits. */
export function h2ServerOptions(limits: LimitsConfig): ServerOptions {
  const h = limits.http2
  return {
    settings: {
      maxConcurrentStreams: h.maxConcurrentStreams,
      maxHeaderListSize: h.maxHeaderListSize,
      initialWindowSize: h.initialWindowSize,
      enablePush: false,
    },
    // one over the header count: a request with one header too many gets commy's 431 (proxy/framing.ts), more are reset by Node
    maxHeaderListPairs: limits.maxHeaderCount + PSEUDO_HEADERS + 1,
    maxSessionInvalidFrames: h.maxInvalidFrames,
    maxSessionRejectedStreams: h.maxRejectedStreams,
    maxSettings: 32,
    maxSessionMemory: 10,
    // the peer may not ask us to keep more header bytes than we accept
    maxSendHeaderBlockLength: 65_536,
  }
}

export type FrameKind = 'reset' | 'control'

/** Per-session counts of resets and control frames in the current one-second window. */
export class FrameBudget {
  private windowStart = -Infinity
  private resets = 0
  private control = 0

  constructor(
    private readonly limits: Pick<Http2LimitsConfig, 'maxResetsPerSecond' | 'maxControlFramesPerSecond'>,
    private readonly now: () => number,
  ) {}

  /** Counts one frame of `kind`; true when the session is now over its budget. */
  spend(kind: FrameKind): boolean {
    const t = this.now()
    if (t - this.windowStart >= 1000) {
      this.windowStart = t
      this.resets = 0
      this.control = 0
    }
    if (kind === 'reset') return ++this.resets > this.limits.maxResetsPerSecond
    return ++this.control > this.limits.maxControlFramesPerSecond
  }
}

/** The size of a header list as HTTP/2 counts it (RFC 9113 §6.5.2): name + value + 32 per field. */
export function headerListSize(raw: readonly string[]): number {
  let n = 0
  for (let i = 0; i < raw.length; i += 2) n += raw[i]!.length + raw[i + 1]!.length + 32
  return n
}
