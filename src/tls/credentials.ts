/**
 * What the data plane needs of the mesh's TLS material: secure contexts, asked for per
 * connection, so a rotation (files changed, SIGHUP, /v1/reload) reaches new connections while
 * existing ones finish. Implemented by `TlsStore` (tls/store.ts); tests may pass their own.
 */
import type { SecureContext } from 'node:tls'

export interface MeshCredentials {
  /** The mesh's trust domain: gossip.cluster ('commy' without gossip). */
  readonly cluster: string
  /** PEM of the trust anchors (tls.ca; a bundle while a CA rotates). */
  ca(): string
  /**
   * The client context for outbound mTLS: the identity of `listener` (its `listeners[].tls`),
   * or the node's (`tls.cert/key`). Trusts `tls.ca`.
   */
  clientContext(listener?: string): SecureContext
  /**
   * The server context the inbound listener presents for local service `service` (its
   * `local.services[].tls`), or the node's. Trusts `tls.ca` for client certificates. It must
   * have a `sessionIdContext` (createSecureContext option): OpenSSL fails the resumption of a
   * session on a server that requests client certificates without one (alert internal_error).
   */
  serverContext(service?: string): SecureContext
  /** Called after every rotation; returns the unsubscribe. */
  onChange(fn: () => void): () => void
}
