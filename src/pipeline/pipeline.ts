/**
 * The request pipeline: one try of a request is an `Attempt`; sending it gives an
 * `UpstreamResponse` whose body streams with backpressure. Behaviour (endpoint stats, breaker,
 * outlier detection, concurrency limits, metrics) is added by wrapping the send with a `Layer`,
 * never by flags in the forwarder or the transport.
 *
 *   retry loop (proxy/call.ts, rules in pipeline/retry-rules.ts) -> pick -> layer(layer(transport.send))(attempt)
 */
import type { Readable } from 'node:stream'
import type { Endpoint } from '../endpoint/endpoint.js'

/** What is sent upstream. Built once per request, shared by every try. */
export interface UpstreamRequest {
  readonly method: string
  /** Path and query, as received (origin form). */
  readonly path: string
  /** Flat list `[name, value, name, value, ...]`: hop-by-hop removed, forwarding headers added. */
  readonly headers: string[]
  /**
   * null: no body. Buffer: a body that can be replayed on every try. Readable: a streamed body
   * that can be read once (a try that consumed any of it cannot be retried).
   */
  body: Readable | Buffer | null
  readonly requestId: string
  /** Name of the service the request goes to. */
  readonly service: string
  /** The listener it came in by: mesh endpoints see that listener's identity (`listeners[].tls`); undefined = the node's. */
  readonly listener?: string
  /** A gRPC call (`content-type: application/grpc*`): its trailers-only statuses are judged (proxy/grpc-layer.ts). */
  readonly grpc?: boolean
  /**
   * The client's request trailers, read once the body has ended (flat `[name, value, ...]`).
   * Set only when the client announced trailers (`Trailer` request header); sent where the
   * upstream protocol allows (HTTP/2; undici cannot send them over HTTP/1.1).
   */
  readonly trailers?: () => string[] | undefined
}

/** Receives a response body. `onData` returning false pauses the body until `resume()`. */
export interface BodySink {
  onData(chunk: Buffer): boolean
  /** The body is complete; `last` is a final chunk not yet passed to onData (lets the sink write once). */
  onEnd(last: Buffer | undefined): void
  onError(err: Error): void
}

export interface ResponseBody {
  /** Attaches the consumer (once). Data that arrived before is delivered first. */
  pipe(sink: BodySink): void
  /** Continues after `onData` returned false. */
  resume(): void
  /** Stops the body (client gone, or a retry discards this response); the upstream request is aborted. */
  destroy(err?: Error): void
  /** Called once when the body completes (err undefined) or fails. Runs at once if already done. */
  onDone(cb: (err: Error | undefined) => void): void
}

export interface UpstreamResponse {
  readonly status: number
  readonly statusText: string
  /** Flat raw list `[name, value, ...]` as received (latin1 strings); hop-by-hop not yet removed. */
  readonly headers: string[]
  readonly body: ResponseBody
  /** The endpoint that answered. */
  readonly endpoint: Endpoint
  /** Bytes of the request body written upstream so far. */
  readonly requestBodyBytes: number
  /** The response's trailers (flat `[name, value, ...]`), known when the body has ended; undefined = none. */
  readonly trailers?: readonly string[] | undefined
}

/** One try of a request, to one endpoint. */
export interface Attempt {
  readonly endpoint: Endpoint
  readonly request: UpstreamRequest
  /** 1 for the first try. */
  readonly try: number
  /** Time-to-headers limit for this try in ms (0 = none). */
  readonly timeoutMs: number
  /** Aborted when the client leaves or the route's timeout fires. Created on first read. */
  readonly signal: AbortSignal
  /**
   * For the transport: what to cancel when the client leaves or a timeout fires (cheaper than
   * listening on `signal`). If the try is already cancelled, `cancel` runs at once. Layers use
   * `signal` instead.
   */
  setCanceller(c: Cancellable | undefined): void
}

export interface Cancellable {
  cancel(reason: Error): void
}

export type Send = (attempt: Attempt) => Promise<UpstreamResponse>

/** Wraps a send with one behaviour. */
export type Layer = (next: Send) => Send

/** `compose([a, b], send)` = a(b(send)): the first layer sees the attempt first. */
export function compose(layers: readonly Layer[], send: Send): Send {
  let s = send
  for (let i = layers.length - 1; i >= 0; i--) s = layers[i]!(s)
  return s
}
