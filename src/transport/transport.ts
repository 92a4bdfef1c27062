/**
 * The Transport interface: sends one try to one endpoint and streams the response back.
 * Failures reject with the typed errors of src/errors.ts (UpstreamConnectError,
 * UpstreamResetError, UpstreamTimeoutError, UpstreamProtocolError, ...), the foreign error kept
 * as `cause`. Connection pools are per endpoint and are released when the endpoint leaves.
 */
import type { Endpoint } from '../endpoint/endpoint.js'
import type { Send } from '../pipeline/pipeline.js'

export interface Transport {
  /** Sends one try (bound: can be passed around as a function). */
  readonly send: Send
  /** The endpoint left its service: close its connections once their requests finish. */
  release(ep: Endpoint): Promise<void>
  /** Closes every pool, letting in-flight requests finish. Idempotent. */
  close(): Promise<void>
  /** Closes every pool at once, failing in-flight requests. Idempotent. */
  destroy(): Promise<void>
}

/** Connection settings of one service's upstream pool (ServiceConfig.upstream). */
export interface UpstreamSettings {
  readonly connections: number
  readonly connectTimeoutMs: number
  readonly keepAliveTimeoutMs: number
  /** HTTP/2 (`protocol: http2`): streams at once on one connection. */
  readonly maxConcurrentStreams?: number
}
