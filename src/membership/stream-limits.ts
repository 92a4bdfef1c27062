/**
 * How much an inbound push-pull stream may cost, derived from what a real cluster sends (one home
 * for the numbers). A push-pull frame carries every member and the mesh-health reports; a member
 * record is never larger than the alive claim that must fit one datagram (the MTU), and its share
 * of health reports is bounded the same way, so a cluster of n members sends at most about
 * n × 2 × MTU bytes (typical members are ~150 bytes, so the bound is generous). Streams are
 * unauthenticated until their whole frame has arrived (AES-GCM checks the tag at the end), so the
 * transport also caps what all streams together may buffer, how long a stream may take, and how
 * many may run at once (per source address too).
 */
import { GOSSIP_STREAM_DEFAULTS } from '../config/gossip-defaults.js'
import type { GossipConfig } from '../config/types.js'
import { LIMITS } from './codec.js'

export interface StreamLimits {
  /** Largest push-pull frame accepted (bytes); a larger announced length is refused before buffering. */
  readonly maxFrameBytes: number
  /** Bytes buffered across all inbound streams together; a stream that would exceed it is cut. */
  readonly maxBufferedBytes: number
  /** Inbound streams at once. */
  readonly maxStreams: number
  /** Inbound streams at once from one remote address. */
  readonly maxStreamsPerSource: number
  /** The 4-byte frame header must arrive within this (ms) of the connection. */
  readonly headerTimeoutMs: number
  /** The whole frame must arrive within this (ms) of the connection. */
  readonly frameTimeoutMs: number
}

/** No push-pull frame limit is set below this, whatever the member count (bytes). */
export const MIN_FRAME_BYTES = 1024 * 1024
/** Bytes one member may take in a push-pull frame, in MTUs (its record and its health reports). */
export const MTUS_PER_MEMBER = 2
/** The buffered-bytes budget holds this many largest frames. */
export const FRAMES_IN_BUDGET = 4


/** The largest push-pull frame of a cluster of `maxMembers` members with this MTU (bytes). */
export function pushPullFrameLimit(mtu: number, maxMembers: number): number {
  return Math.min(LIMITS.pushPullBytes, Math.max(MIN_FRAME_BYTES, maxMembers * MTUS_PER_MEMBER * mtu))
}

/** The stream limits of a gossip config. */
export function streamLimits(g: Pick<GossipConfig, 'mtu' | 'maxMembers' | 'maxInboundStreams' | 'maxStreamsPerSource' | 'streamHeaderTimeoutMs' | 'streamTimeoutMs'>): StreamLimits {
  const maxFrameBytes = pushPullFrameLimit(g.mtu, g.maxMembers)
  return Object.freeze({
    maxFrameBytes,
    maxBufferedBytes: FRAMES_IN_BUDGET * maxFrameBytes,
    maxStreams: g.maxInboundStreams,
    maxStreamsPerSource: g.maxStreamsPerSource,
    headerTimeoutMs: g.streamHeaderTimeoutMs,
    frameTimeoutMs: g.streamTimeoutMs,
  })
}

/** The limits of the default gossip config. */
export const DEFAULT_STREAM_LIMITS: StreamLimits = streamLimits(GOSSIP_STREAM_DEFAULTS)
