/** STUB (to be replaced): wires breakers, outlier detection, retry budget and concurrency limits. */
import type { Plugin, PluginDeps } from '../plugin.js'
import { decideRetry, type RetryDecider } from '../proxy/retry.js'

export interface ResiliencePlugin extends Plugin {
  readonly retryDecider: RetryDecider
}

export function createResiliencePlugin(_deps: PluginDeps): ResiliencePlugin {
  return { layers: [], retryDecider: decideRetry, start() {}, stop() {} }
}
