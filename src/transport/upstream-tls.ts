/**
 * HTTPS to upstreams outside the mesh (`services.<name>.tls: { ca, cert, key, servername }`):
 * the files are read and checked when the sidecar is built and on every reload, before anything
 * changes; a file that cannot be used is a ConfigError naming the file, the key and the reason
 * (exit 2 at start, the old config kept on reload). Key material never appears in an error.
 *
 * Checks: every file readable; `ca` holds at least one PEM certificate, each parseable; `cert`
 * parseable and valid now (not expired, not yet valid); `key` matches `cert`. No `ca`: the
 * system's trust store.
 */
import { X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createSecureContext, type SecureContext } from 'node:tls'
import type { ServiceConfig, UpstreamTlsConfig } from '../config/types.js'
import { ConfigError, type ConfigIssue } from '../errors.js'

/** The loaded material of one service. */
export interface UpstreamTls {
  readonly context: SecureContext
  /** SNI and verified name; undefined = the endpoint host. */
  readonly servername: string | undefined
  /** The config it was loaded from (a reload with the same config and files keeps the pools). */
  readonly config: UpstreamTlsConfig
  /** The file contents it was built from, for change detection (never shown). */
  readonly fingerprint: string
}

export type ReadFile = (path: string) => string

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g

/**
 * Loads the tls material of every service that has `tls`. Throws one ConfigError listing every
 * problem found. `now`: wall-clock ms (validity of client certificates).
 */
export function loadUpstreamTls(
  services: Readonly<Record<string, ServiceConfig>>,
  now: number = Date.now(),
  read: ReadFile = (p) => readFileSync(p, 'utf8'),
): ReadonlyMap<string, UpstreamTls> {
  const out = new Map<string, UpstreamTls>()
  const issues: ConfigIssue[] = []
  const files: string[] = []
  for (const s of Object.values(services)) {
    const t = s.tls
    if (t === undefined) continue
    const path = `services.${s.name}.tls`
    const before = issues.length
    const problem = (key: string, file: string, message: string) => {
      files.push(file)
      issues.push({ path: `${path}.${key}`, message: `${file}: ${message}` })
    }
    const load = (key: string, file: string | undefined): string | undefined => {
      if (file === undefined) return undefined
      try {
        return read(file)
      } catch (err) {
        problem(key, file, `cannot read (${(err as NodeJS.ErrnoException).code ?? 'error'})`)
        return undefined
      }
    }
    const ca = load('ca', t.ca)
    const cert = load('cert', t.cert)
    const key = load('key', t.key)
    // each certificate of the bundle on its own (a bundle glued without newlines still works)
    const caCerts = ca === undefined ? undefined : (ca.match(PEM_CERT) ?? [])
    if (ca !== undefined) {
      const pems = caCerts!
      if (pems.length === 0) problem('ca', t.ca!, 'no PEM certificate in it')
      for (const pem of pems) if (parse(pem) === undefined) problem('ca', t.ca!, 'a certificate in it cannot be parsed')
    }
    if (cert !== undefined) {
      const x = parse(cert)
      if (x === undefined) problem('cert', t.cert!, 'not a PEM certificate')
      else if (Date.parse(x.validTo) <= now) problem('cert', t.cert!, `expired (not after ${x.validTo})`)
      else if (Date.parse(x.validFrom) > now) problem('cert', t.cert!, `not yet valid (not before ${x.validFrom})`)
    }
    if (issues.length > before || (t.cert !== undefined && (cert === undefined || key === undefined)) || (t.ca !== undefined && ca === undefined)) continue
    try {
      const context = createSecureContext({ ca: caCerts, cert, key, minVersion: 'TLSv1.2' })
      out.set(s.name, Object.freeze({ context, servername: t.servername, config: t, fingerprint: `${ca ?? ''}\0${cert ?? ''}\0${key ?? ''}` }))
    } catch (err) {
      // OpenSSL's reason by code; its message never holds key material
      const code = (err as NodeJS.ErrnoException).code ?? 'error'
      if (t.key !== undefined) problem('key', t.key, code === 'ERR_OSSL_X509_KEY_VALUES_MISMATCH' ? 'does not match the certificate' : `cannot be used with the certificate (${code})`)
      else problem('ca', t.ca ?? '(system store)', `cannot be used (${code})`)
    }
  }
  if (issues.length > 0) throw new ConfigError(files[0]!, issues)
  return out
}

function parse(pem: string): X509Certificate | undefined {
  try {
    return new X509Certificate(pem)
  } catch {
    return undefined
  }
}
