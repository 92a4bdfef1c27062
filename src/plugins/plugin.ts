/**
 * The seam between the data plane (Sidecar) and the mechanisms that plug into it (resilience,
 * health, gossip, admin). A plugin contributes pipeline pieces before the Sidecar is built, is
 * then given a narrow read-only view of the built data plane (never the Sidecar itself), follows
 * config reloads, and has a lifecycle of its own. The Runtime (runtime.ts) is the only place that
 * knows every plugin; this file imports nothing of the Sidecar.
 */
import type { SidecarConfig } from '../config/types.js'
import type { Clock, Random } from '../clock.js'
import type { Logger } from 'pino'
import type { Startable } from '../lifecycle.js'
import type { Layer } from '../pipeline/pipeline.js'
import type { DiscoverySource } from '../discovery/discovery.js'
import type { RequestObserver } from '../proxy/request-record.js'
import type { EndpointsView } from '../discovery/registry.js'
import type { OverloadCounters } from '../proxy/overload.js'
import type { ConnectionCounters } from '../proxy/connection-counts.js'
import type { CertificateSource } from '../tls/material.js'

/** What every plugin factory receives. */
export interface PluginDeps {
  /** The config the plugin is built from. */
  readonly config: SidecarConfig
  /**
   * The config the data plane serves now: during a reload it is the new one before the plugin's
   * `reload()` is called (a plugin that builds per-service parts on demand reads this).
   */
  readonly currentConfig: () => SidecarConfig
  readonly clock: Clock
  readonly random: Random
  /** A child logger for the plugin's component. */
  readonly logger: Logger
}

export interface Plugin extends Startable {
  /** Per-try layers, outermost first (they wrap the endpoint-stats layer and the transport). */
  readonly layers?: readonly Layer[]
  /** Discovery sources besides the static endpoints. */
  readonly sources?: readonly DiscoverySource[]
  /** Told about every finished request. */
  readonly observers?: readonly RequestObserver[]
  /** Called once, after the data plane is built and before anything starts. */
  attach?(dataPlane: DataPlaneView): void
  /** A new config was applied to the Sidecar (hot reload). */
  reload?(config: SidecarConfig): void
}

/** What a plugin may read of the built data plane. */
export interface DataPlaneView {
  /** The endpoint registry, read-only: services, their endpoint sets, added/removed events. */
  readonly endpoints: EndpointsView
  /** Wall-clock ms when the data plane started (0 before). */
  readonly startedAt: number
  /** Connections refused, access-log lines dropped, descriptor exhaustion so far. */
  overload(): OverloadCounters
  /** The mesh certificates loaded now (node, listeners, services, CAs); undefined without `tls`. */
  readonly tls?: CertificateSource
  /** Mesh endpoints refused for their identity so far, per service. */
  identityMismatches?(): ReadonlyMap<string, number>
  /** Client connections per listener and upstream connections per endpoint so far. */
  connections?(): ConnectionCounters
}
