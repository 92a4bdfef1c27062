/**
 * Test PKI: a CA and leaf certificates carrying a commy SPIFFE identity (or none, or another
 * CA's, or expired), made in-process with src/tls/pki.ts (so unit tests can use them), and
 * MeshCredentials over PEM strings, so data-plane tests do not depend on the TlsStore.
 * Acceptance tests create theirs with the CLI (`commy ca create` / `commy cert create`).
 */
import { createSecureContext, type SecureContext } from 'node:tls'
import type { MeshCredentials } from '../../src/tls/credentials.js'
import { createCa, createLeaf, type PemPair } from '../../src/tls/pki.js'

export type Pem = PemPair

/** A self-signed CA. */
export function makeCa(name = 'commy test CA'): Promise<Pem> {
  return createCa({ name, days: 30 })
}

export interface LeafOptions {
  /** Service name for the SPIFFE URI SAN; undefined = no URI SAN. */
  readonly service?: string
  readonly cluster?: string
  readonly dnsNames?: readonly string[]
  /** Days valid from now; negative: expired that many days ago. */
  readonly days?: number
  /** Not yet valid: starts this many days from now. */
  readonly startsInDays?: number
}

/** A leaf signed by `ca`, usable as TLS server and client certificate. */
export function makeLeaf(ca: Pem, options: LeafOptions = {}): Promise<Pem> {
  const DAY = 86_400_000
  const days = options.days ?? 30
  const notBefore =
    options.startsInDays !== undefined ? new Date(Date.now() + options.startsInDays * DAY)
    : days < 0 ? new Date(Date.now() + (days - 2) * DAY)
    : undefined
  return createLeaf(ca, { service: options.service, cluster: options.cluster, dnsNames: options.dnsNames, days: days < 0 ? 2 : days, notBefore })
}

export interface StaticCredentialsOptions {
  readonly cluster?: string
  /** PEM bundle of trusted CAs. */
  readonly ca: string
  /** The node's identity. */
  readonly node: Pem
  /** Per listener (client) identities. */
  readonly listeners?: Readonly<Record<string, Pem>>
  /** Per local service (server) identities. */
  readonly services?: Readonly<Record<string, Pem>>
}

/** MeshCredentials over PEM strings; `rotate()` swaps them and notifies. */
export class StaticCredentials implements MeshCredentials {
  readonly cluster: string
  private options: StaticCredentialsOptions
  private readonly subscribers = new Set<() => void>()

  constructor(options: StaticCredentialsOptions) {
    this.options = options
    this.cluster = options.cluster ?? 'commy'
  }

  ca(): string {
    return this.options.ca
  }

  clientContext(listener?: string): SecureContext {
    const pair = (listener !== undefined ? this.options.listeners?.[listener] : undefined) ?? this.options.node
    return createSecureContext({ ca: this.options.ca, cert: pair.cert, key: pair.key, minVersion: 'TLSv1.2' })
  }

  serverContext(service?: string): SecureContext {
    const pair = (service !== undefined ? this.options.services?.[service] : undefined) ?? this.options.node
    return createSecureContext({ ca: this.options.ca, cert: pair.cert, key: pair.key, minVersion: 'TLSv1.2', sessionIdContext: 'commy-mesh' })
  }

  onChange(fn: () => void): () => void {
    this.subscribers.add(fn)
    return () => void this.subscribers.delete(fn)
  }

  rotate(options: Partial<StaticCredentialsOptions>): void {
    this.options = { ...this.options, ...options }
    for (const fn of this.subscribers) fn()
  }
}
