/** STUB (to be replaced): wires active checks, history, alerts and local-service health. */
import type { Plugin, PluginDeps } from '../plugin.js'
import { AlwaysHealthy, type HealthSource } from './health-source.js'

export interface HealthPlugin extends Plugin {
  readonly health: HealthSource
}

export function createHealthPlugin(_deps: PluginDeps): HealthPlugin {
  return { health: new AlwaysHealthy(), layers: [], start() {}, stop() {} }
}
