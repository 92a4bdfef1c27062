/** STUB (to be replaced): gossip membership as a discovery source, announcing local services. */
import type { Plugin, PluginDeps } from '../plugin.js'
import type { GossipConfig } from '../config/types.js'
import type { HealthPlugin } from '../health/plugin.js'

export interface GossipPlugin extends Plugin {
  /** Ready once joined (or when no seed is configured). */
  readiness(): { ready: boolean; reason?: string }
  /** Stop announcing local services and leave the cluster (drain). */
  leave(): Promise<void>
}

export interface GossipPluginDeps extends PluginDeps {
  readonly gossip: GossipConfig
  readonly health: HealthPlugin
}

export function createGossipPlugin(_deps: GossipPluginDeps): GossipPlugin {
  return { sources: [], start() {}, stop() {}, readiness: () => ({ ready: true }), leave: async () => {} }
}
