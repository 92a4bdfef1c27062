/**
 * The DiscoverySource interface: a source tells the registry, per service, the full set of
 * endpoints it currently knows (replace semantics, idempotent). The registry diffs, so
 * unchanged endpoints keep their pools and stats and departed ones are closed.
 */
import type { EndpointInfo } from '../endpoint/endpoint.js'
import type { Startable } from '../lifecycle.js'

export interface DiscoveryUpdate {
  readonly service: string
  readonly endpoints: readonly EndpointInfo[]
}

export type DiscoveryListener = (update: DiscoveryUpdate) => void

export interface DiscoverySource extends Startable {
  /** Source name, e.g. `static` or `gossip`; an endpoint's provenance. */
  readonly name: string
  /** Registers the listener and replays the current state to it. Returns an unsubscribe. */
  subscribe(listener: DiscoveryListener): () => void
}
