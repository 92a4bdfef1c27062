/**
 * The outbound side of mesh security, as the Sidecar wires it: the HTTPS material of services'
 * static endpoints (`services.<name>.tls`, loaded at build and on reload), the identity refusals
 * of mesh endpoints (with their log line), and the one warning per endpoint the mesh policy
 * refuses (`tls.mode: strict` and plaintext, or mTLS without `tls`).
 */
import type { Logger } from 'pino'
import type { Clock } from '../clock.js'
import type { SidecarConfig } from '../config/types.js'
import type { Endpoint, MeshMode } from '../endpoint/endpoint.js'
import type { Startable } from '../lifecycle.js'
import { IdentityRefusals } from './identity-refusals.js'
import { loadUpstreamTls, type UpstreamTls } from './upstream-tls.js'

/** How the config treats endpoints learned from discovery. */
export function meshModeOf(config: Pick<SidecarConfig, 'tls'>): MeshMode {
  return config.tls === undefined ? 'none' : config.tls.mode
}

export interface OutboundTlsOptions {
  readonly config: SidecarConfig
  readonly clock: Clock
  readonly logger: Logger
  /** An endpoint's eligibility changed (refresh its service's snapshot). */
  readonly changed: (ep: Endpoint) => void
}

export class OutboundTls implements Startable {
  readonly refusals: IdentityRefusals
  private material: ReadonlyMap<string, UpstreamTls>
  private readonly warned = new WeakSet<Endpoint>()
  private readonly logger: Logger
  private readonly clock: Clock

  /** Throws ConfigError when a `services.<name>.tls` file cannot be used. */
  constructor(options: OutboundTlsOptions) {
    this.logger = options.logger
    this.clock = options.clock
    this.material = loadUpstreamTls(options.config.services, options.clock.wallNow())
    this.refusals = new IdentityRefusals({
      clock: options.clock,
      changed: options.changed,
      refused: (r) =>
        this.logger.warn(
          { service: r.endpoint.service, endpoint: r.endpoint.address, peer: r.endpoint.node ?? null, presented: r.presented ?? null, expected: r.expected, durationMs: r.durationMs, count: r.count },
          'mesh endpoint presented another identity: out of picking',
        ),
    })
  }

  start(): void {}

  stop(): void {
    this.refusals.stop()
  }

  /** HTTPS material of a service's static endpoints. */
  upstreamTls(service: string): UpstreamTls | undefined {
    return this.material.get(service)
  }

  /**
   * Loads the material of a new config (throws ConfigError, changing nothing). The returned
   * function applies it and tells which services' material changed.
   */
  prepare(next: SidecarConfig): () => (service: string) => boolean {
    const loaded = loadUpstreamTls(next.services, this.clock.wallNow())
    return () => {
      const prev = this.material
      this.material = loaded
      return (service) => prev.get(service)?.fingerprint !== loaded.get(service)?.fingerprint
    }
  }

  /** Warns once per endpoint the mesh policy refuses. */
  checkPolicy(ep: Endpoint): void {
    if (ep.policyRefusal === '' || this.warned.has(ep)) return
    this.warned.add(ep)
    this.logger.warn({ service: ep.service, endpoint: ep.address, peer: ep.node ?? null, reason: ep.policyRefusal }, 'mesh endpoint refused by the tls policy: not picked')
  }
}
