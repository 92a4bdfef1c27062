/**
 * Defaults of gossip's inbound-stream limits: read by normalize.ts (the config) and by
 * membership/stream-limits.ts (a UdpTransport built without a config), so there is one home for
 * the numbers. No imports: membership is a leaf and must not pull the config loader in.
 */
export const GOSSIP_STREAM_DEFAULTS = Object.freeze({
  mtu: 1400,
  maxMembers: 1024,
  maxInboundStreams: 64,
  maxStreamsPerSource: 16,
  streamHeaderTimeoutMs: 2_000,
  streamTimeoutMs: 10_000,
})
