/** STUB (to be replaced): the admin server, metrics and dashboard over the running parts. */
import type { Plugin, PluginDeps } from '../plugin.js'
import type { RuntimeParts } from '../runtime.js'

export interface AdminPlugin extends Plugin {
  /** Bound admin address (after start). */
  address(): { host: string; port: number } | undefined
  /** Counts a config reload attempt (SIGHUP, POST /v1/reload, file watch). */
  configReload(ok: boolean): void
}

export interface AdminPluginDeps extends PluginDeps {
  readonly parts: RuntimeParts
}

export function createAdminPlugin(_deps: AdminPluginDeps): AdminPlugin {
  return { observers: [], start() {}, stop() {}, address: () => undefined, configReload() {} }
}
