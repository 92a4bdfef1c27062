/**
 * The seam between the data plane (Sidecar) and the mechanisms that plug into it (resilience,
 * health, gossip, admin). A plugin contributes pipeline pieces before the Sidecar is built,
 * is attached to the built Sidecar, follows config reloads, and has a lifecycle of its own.
 * The Runtime (runtime.ts) is the only place that knows every plugin.
 */
import type { SidecarConfig } from './config/types.js'
import type { Clock, Random } from './clock.js'
import type { Logger } from 'pino'
import type { Startable } from './lifecycle.js'
import type { Layer } from './pipeline/pipeline.js'
import type { DiscoverySource } from './discovery/discovery.js'
import type { RequestObserver } from './proxy/request-record.js'
import type { Sidecar } from './sidecar.js'

/** What every plugin factory receives. */
export interface PluginDeps {
  readonly config: SidecarConfig
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
  /** Called once, after the Sidecar is built and before anything starts. */
  attach?(sidecar: Sidecar): void
  /** A new config was applied to the Sidecar (hot reload). */
  reload?(config: SidecarConfig): void
}
