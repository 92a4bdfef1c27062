/**
 * The health-check factory: the check a config asks for (one implementation per file:
 * http-check.ts, tcp-check.ts, behind the HealthCheck interface of check.ts).
 */
import type { Dispatcher } from 'undici'
import type { HealthCheckConfig } from '../config/types.js'
import type { HealthCheck } from './check.js'
import { HttpCheck } from './http-check.js'
import { TcpCheck } from './tcp-check.js'

export interface CheckFactoryDeps {
  /** undici dispatcher for HTTP checks (keep-alive pool owned by the caller). */
  readonly dispatcher?: Dispatcher
}

/** The check a config asks for. */
export function createHealthCheck(config: HealthCheckConfig, deps: CheckFactoryDeps = {}): HealthCheck {
  return config.kind === 'tcp' ? new TcpCheck() : new HttpCheck(config, deps.dispatcher)
}
