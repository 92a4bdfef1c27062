/**
 * TlsStore: the mesh credentials of a running sidecar, from the files its config names. It loads
 * and checks them at construction (a ConfigError names the key path, the file and the reason),
 * keeps one secure context per identity (TLS 1.2 at least), and swaps them on rotation: the files
 * changed (watched with `tls.watch`), SIGHUP or /v1/reload (`stage` then `commit`, so a bad file
 * refuses the whole reload). A changed set that checks out replaces the old one (new connections
 * use it, existing ones finish) and `onChange` fires; one that does not is logged with file and
 * reason and the old material stays.
 */
import { readFileSync } from 'node:fs'
import { createSecureContext, type SecureContext } from 'node:tls'
import type { SidecarConfig } from '../config/types.js'
import { systemClock, type Clock } from '../clock.js'
import { ConfigError } from '../errors.js'
import type { Startable } from '../lifecycle.js'
import type { MeshCredentials } from './credentials.js'
import { digest, loadTlsMaterial, tlsFiles, type CertificateInfo, type CertificateSource, type KeyPairMaterial, type LoadOptions, type TlsMaterial } from './material.js'
import { TlsWatch } from './watch.js'

export interface TlsLog {
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
}

export type TlsConfigSlice = Pick<SidecarConfig, 'file' | 'tls' | 'listeners' | 'local' | 'gossip'>

export interface TlsStoreOptions {
  readonly config: TlsConfigSlice
  readonly log?: TlsLog
  readonly clock?: Clock
  /** Wall-clock ms for validity checks (default Date.now). */
  readonly now?: () => number
  /** File watch: quiet time after an event (default 200 ms) and poll interval (default 10 s). */
  readonly watchDebounceMs?: number
  readonly watchPollMs?: number
}

/** Material checked for a config not yet applied (`stage`), swapped in by `commit`. */
export interface StagedTls {
  readonly config: TlsConfigSlice
  readonly material: TlsMaterial
}

const MIN_VERSION = 'TLSv1.2'
/** Sessions of the mesh may be resumed only by the mesh's servers (tls/credentials.ts). */
export const SESSION_ID_CONTEXT = 'commy-mesh'
const silent: TlsLog = { info() {}, warn() {} }

export class TlsStore implements MeshCredentials, CertificateSource, Startable {
  private config: TlsConfigSlice
  private material: TlsMaterial
  private readonly contexts = new Map<string, SecureContext>()
  private readonly subscribers = new Set<() => void>()
  private readonly log: TlsLog
  private readonly now: () => number
  private readonly watch: TlsWatch
  /** Digests of a file set that failed its check (not logged again until the files change). */
  private refused: string | undefined

  /** @throws ConfigError when a file is missing, unreadable or fails a check */
  constructor(options: TlsStoreOptions) {
    this.config = options.config
    this.log = options.log ?? silent
    this.now = options.now ?? Date.now
    this.material = this.load(options.config)
    this.watch = new TlsWatch({
      files: () => tlsFiles(this.config),
      changed: () => this.refresh(),
      clock: options.clock ?? systemClock,
      debounceMs: options.watchDebounceMs,
      pollMs: options.watchPollMs,
      onWatchError: (dir, err) => this.log.warn({ dir, err }, 'tls: cannot watch the directory; polling it'),
    })
  }

  get cluster(): string {
    return this.material.cluster
  }

  /** The node's identity (tls.cert) and expiry, for the admin API. */
  get node(): CertificateInfo {
    return this.material.node.info
  }

  /** Every loaded certificate (node, listeners, services, CAs): metrics and alerts. */
  certificates(): readonly CertificateInfo[] {
    return this.material.certificates
  }

  ca(): string {
    return this.material.ca
  }

  clientContext(listener?: string): SecureContext {
    const m = listener !== undefined ? this.material.listeners.get(listener) : undefined
    return m ? this.context(`listener:${listener}`, m) : this.context('node', this.material.node)
  }

  serverContext(service?: string): SecureContext {
    const m = service !== undefined ? this.material.services.get(service) : undefined
    return m ? this.context(`service:${service}`, m) : this.context('node', this.material.node)
  }

  onChange(fn: () => void): () => void {
    this.subscribers.add(fn)
    return () => void this.subscribers.delete(fn)
  }

  start(): void {
    if (this.config.tls?.watch) this.watch.start()
  }

  stop(): void {
    this.watch.stop()
  }

  /**
   * Checks the TLS files of a config about to be applied (reload).
   * @throws ConfigError, changing nothing
   */
  stage(config: TlsConfigSlice): StagedTls {
    if (!config.tls) throw new ConfigError(config.file, [{ path: 'tls', message: 'removing the mesh tls needs a restart' }])
    return { config, material: this.load(config) }
  }

  /** Swaps in staged material (after the rest of the reload applied). */
  commit(staged: StagedTls): void {
    const watchWas = this.config.tls?.watch
    this.config = staged.config
    if (watchWas && !staged.config.tls?.watch) this.watch.stop()
    else if (!watchWas && staged.config.tls?.watch) this.watch.start()
    else this.watch.rewatch()
    this.swap(staged.material, 'reload')
  }

  /** Reads the files again (watch, poll): a change that checks out is swapped in; one that does not is logged once. */
  refresh(): void {
    const files = tlsFiles(this.config)
    const now = this.readDigests(files)
    const current = files.map((f) => this.material.digests.get(f) ?? '').join(',')
    if (now === current || now === this.refused) return
    let next: TlsMaterial
    try {
      next = this.load(this.config)
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err
      this.refused = now
      this.log.warn({ problems: err.issues.map((i) => `${i.path}: ${i.message}`) }, 'tls: the changed files were refused; the old certificates stay in use')
      return
    }
    this.swap(next, 'files changed')
  }

  private load(config: TlsConfigSlice): TlsMaterial {
    const options: LoadOptions = { now: this.now() }
    return loadTlsMaterial(config, options)
  }

  private readDigests(files: readonly string[]): string {
    return files
      .map((f) => {
        try {
          return digest(readFileSync(f, 'utf8'))
        } catch {
          return 'unreadable'
        }
      })
      .join(',')
  }

  private swap(next: TlsMaterial, reason: string): void {
    const same = sameDigests(this.material.digests, next.digests)
    this.material = next
    this.refused = undefined
    if (same) return
    this.contexts.clear()
    this.log.info(
      { reason, certificates: next.certificates.map((c) => ({ file: c.file, identity: c.identity, notAfter: new Date(c.notAfter).toISOString() })) },
      'tls: certificates rotated',
    )
    for (const fn of [...this.subscribers]) {
      try {
        fn()
      } catch (err) {
        this.log.warn({ err }, 'tls: a rotation subscriber threw')
      }
    }
  }

  private context(key: string, m: KeyPairMaterial): SecureContext {
    let c = this.contexts.get(key)
    if (!c) {
      // sessionIdContext: OpenSSL refuses to resume a session of a server that asks for client
      // certificates unless its context has one (the inbound listener; unused by clients)
      c = createSecureContext({ ca: this.material.ca, cert: m.cert, key: m.key, minVersion: MIN_VERSION, sessionIdContext: SESSION_ID_CONTEXT })
      this.contexts.set(key, c)
    }
    return c
  }
}

function sameDigests(a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>): boolean {
  if (a.size !== b.size) return false
  for (const [k, v] of a) if (b.get(k) !== v) return false
  return true
}
