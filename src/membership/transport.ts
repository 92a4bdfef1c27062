/**
 * The GossipTransport interface: unreliable datagrams (probes and gossip, UDP in production) and
 * request/response exchanges over a reliable stream (push-pull, TCP in production). Bytes only:
 * sealing and encoding happen above it. Implementations: `UdpTransport` (dgram + net) and
 * `MemoryNetwork` transports (in process, seeded loss and delay, for tests and the simulator).
 */
import type { HostPort } from '../config/types.js'
import type { StreamDropReason } from './counters.js'

export type { HostPort }

export interface TransportHandlers {
  /** One datagram arrived. */
  packet(data: Buffer, from: HostPort): void
  /** A peer opened an exchange: resolve with the answer, or undefined to close without one. */
  exchange(request: Buffer, from: HostPort): Promise<Buffer | undefined>
  /** An inbound stream was refused or cut by the transport's limits (counted by reason). */
  dropped?(reason: StreamDropReason): void
}

export interface GossipTransport {
  /** Binds (port 0 picks one) and starts delivering to `handlers`. Resolves with the bound address. */
  listen(handlers: TransportHandlers): Promise<HostPort>
  /** Fire and forget; a failure is the same as a lost packet. */
  send(to: HostPort, data: Buffer): void
  /** Sends one request over a fresh stream and resolves with the answer; rejects on refusal or timeout. */
  exchange(to: HostPort, request: Buffer, timeoutMs: number): Promise<Buffer>
  /** Closes sockets and abandons exchanges in flight. Idempotent. */
  close(): Promise<void>
}

export function formatAddress(a: HostPort): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`
}

/**
 * The address this node announces: `advertise`, with a wildcard host replaced by the bound one,
 * and port 0 (or advertise = listen) replaced by the bound port.
 */
export function advertisedAddress(listen: HostPort, advertise: HostPort, bound: HostPort): HostPort {
  const wildcard = advertise.host === '0.0.0.0' || advertise.host === '::'
  const host = wildcard ? bound.host : advertise.host
  const port = advertise.port === 0 || (advertise.port === listen.port && advertise.host === listen.host) ? bound.port : advertise.port
  return { host, port }
}
