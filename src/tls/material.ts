/**
 * The mesh's TLS material read from the files the config names (`tls`, `listeners[].tls`,
 * `local.services[].tls`) and checked once, here: every problem is a `ConfigError` issue naming
 * the key path, the file and the reason (missing or unreadable, not PEM, a key that does not match
 * its certificate, expired or not yet valid, no commy identity or another trust domain, a leaf that
 * does not chain to the CA bundle, a CA file without a CA certificate). Used at start, on reload,
 * by the file watch and by `commy validate`. Key bytes never reach a message.
 */
import { createHash, type X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { PEM_TEXT, shownPath } from '../config/secrets.js'
import type { KeyPairFiles, SidecarConfig } from '../config/types.js'
import { ConfigError, type ConfigIssue } from '../errors.js'
import { identityOf, spiffeId } from './identity.js'
import { issuedBy, parseCertificates, parsePrivateKey, validity } from './pem.js'

/** One loaded certificate, as the metrics, alerts and admin show it (no key material). */
export interface CertificateInfo {
  /** node: tls.cert; listener / service: a per-listener or per-service identity; ca: one CA of tls.ca. */
  readonly role: 'node' | 'listener' | 'service' | 'ca'
  /** The listener or local service, for those roles. */
  readonly name?: string
  readonly file: string
  /** The SPIFFE ID of a leaf; for a CA its subject and serial. */
  readonly identity: string
  /** Wall-clock ms. */
  readonly notBefore: number
  readonly notAfter: number
}

/** The loaded certificates, read by metrics, alerts and the admin API (TlsStore implements it). */
export interface CertificateSource {
  certificates(): readonly CertificateInfo[]
}

/** A validated certificate (with any intermediates) and its key, as PEM text. */
export interface KeyPairMaterial {
  readonly cert: string
  readonly key: string
  readonly info: CertificateInfo
}

export interface TlsMaterial {
  /** Trust domain: gossip.cluster, 'commy' without gossip. */
  readonly cluster: string
  /** PEM of the CA bundle, only its CA certificates. */
  readonly ca: string
  readonly node: KeyPairMaterial
  /** Per listener name. */
  readonly listeners: ReadonlyMap<string, KeyPairMaterial>
  /** Per local service name. */
  readonly services: ReadonlyMap<string, KeyPairMaterial>
  /** Every loaded certificate: node, listeners, services, then the CAs. */
  readonly certificates: readonly CertificateInfo[]
  /** sha256 of each file's content, by path (what the watch compares). */
  readonly digests: ReadonlyMap<string, string>
}

export interface LoadOptions {
  /** Wall-clock ms to check validity against (default Date.now()). */
  readonly now?: number
  /** Reads a file (default readFileSync utf8). */
  readonly read?: (file: string) => string
}

/** The trust domain of a config's mesh identities. */
export function clusterOf(config: Pick<SidecarConfig, 'gossip'>): string {
  return config.gossip?.cluster ?? 'commy'
}

/** Every file a config's mesh TLS reads (the CA, then each certificate and key). */
export function tlsFiles(config: Pick<SidecarConfig, 'tls' | 'listeners' | 'local'>): string[] {
  if (!config.tls) return []
  const files = [config.tls.ca, config.tls.cert, config.tls.key]
  for (const l of config.listeners) if (l.tls) files.push(l.tls.cert, l.tls.key)
  for (const s of config.local.services) if (s.tls) files.push(s.tls.cert, s.tls.key)
  return [...new Set(files)]
}

export function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex')
}

function readReason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code
  switch (code) {
    case 'ENOENT':
      return 'cannot read the file: it does not exist'
    case 'EACCES':
    case 'EPERM':
      return 'cannot read the file: permission denied'
    case 'EISDIR':
      return 'cannot read the file: it is a directory'
    case undefined:
    default:
      return `cannot read the file (${code ?? 'unknown error'})`
  }
}

const iso = (ms: number): string => new Date(ms).toISOString()

/**
 * Loads and checks the mesh TLS files of `config` (which must have `tls`).
 * @throws ConfigError with one issue per problem found
 */
export function loadTlsMaterial(config: Pick<SidecarConfig, 'file' | 'tls' | 'listeners' | 'local' | 'gossip'>, options: LoadOptions = {}): TlsMaterial {
  const tls = config.tls
  if (!tls) throw new ConfigError(config.file, [{ path: 'tls', message: 'no mesh tls configured' }])
  const now = options.now ?? Date.now()
  const read = options.read ?? ((f: string) => readFileSync(f, 'utf8'))
  const cluster = clusterOf(config)
  const issues: ConfigIssue[] = []
  const texts = new Map<string, string | Error>()
  const text = (path: string, file: string): string | undefined => {
    let t = texts.get(file)
    if (t === undefined && PEM_TEXT.test(file)) t = new Error('expects the path of a PEM file, not PEM text')
    if (t === undefined) {
      try {
        t = read(file)
      } catch (err) {
        t = new Error(readReason(err))
      }
      texts.set(file, t)
    }
    if (typeof t === 'string') return t
    issues.push({ path, message: `${shownPath(file)}: ${t.message}` })
    return undefined
  }

  // the CA bundle
  let cas: X509Certificate[] = []
  const caText = text('tls.ca', tls.ca)
  if (caText !== undefined) {
    const parsed = parseCertificates(caText)
    if (!parsed.ok) issues.push({ path: 'tls.ca', message: `${tls.ca}: ${parsed.reason}` })
    else {
      cas = parsed.value.filter((c) => c.ca)
      if (cas.length === 0) issues.push({ path: 'tls.ca', message: `${tls.ca}: no CA certificate in the file (basicConstraints CA:TRUE)` })
      else if (cas.every((c) => validity(c).notAfter < now)) issues.push({ path: 'tls.ca', message: `${tls.ca}: every CA certificate in the file has expired` })
    }
  }
  const trusted = cas.filter((c) => validity(c).notBefore <= now && now <= validity(c).notAfter)

  const pair = (path: string, files: KeyPairFiles, role: CertificateInfo['role'], name: string | undefined): KeyPairMaterial | undefined => {
    const before = issues.length
    const certText = text(`${path}.cert`, files.cert)
    const keyText = text(`${path}.key`, files.key)
    if (certText === undefined || keyText === undefined) return undefined
    const certs = parseCertificates(certText)
    if (!certs.ok) issues.push({ path: `${path}.cert`, message: `${files.cert}: ${certs.reason}` })
    const key = parsePrivateKey(keyText)
    if (!key.ok) issues.push({ path: `${path}.key`, message: `${files.key}: ${key.reason}` })
    if (!certs.ok || !key.ok) return undefined
    const leaf = certs.value[0]!
    const where = { path: `${path}.cert`, file: files.cert }
    const problem = (message: string) => issues.push({ path: where.path, message: `${where.file}: ${message}` })
    if (!leaf.checkPrivateKey(key.value)) issues.push({ path: `${path}.key`, message: `${files.key}: the private key does not match the certificate ${files.cert}` })
    const { notBefore, notAfter } = validity(leaf)
    if (notAfter < now) problem(`the certificate expired on ${iso(notAfter)}`)
    if (notBefore > now) problem(`the certificate is not valid before ${iso(notBefore)}`)
    const id = identityOf({ subjectaltname: leaf.subjectAltName })
    if (!id) problem(`the certificate has no commy identity: it needs exactly one URI SAN ${spiffeId(cluster, '<service>')}`)
    else if (id.cluster !== cluster) problem(`the certificate's trust domain "${id.cluster}" is not this mesh's cluster "${cluster}" (gossip.cluster)`)
    else if (role === 'service' && id.service !== name) problem(`the certificate is for service "${id.service}", not local service "${name}"`)
    if (cas.length > 0 && !chains(certs.value, trusted)) problem(`the certificate does not chain to a valid CA of ${tls.ca}`)
    if (issues.length > before || !id) return undefined
    return {
      cert: certText,
      key: keyText,
      info: { role, ...(name !== undefined ? { name } : {}), file: files.cert, identity: spiffeId(id.cluster, id.service), notBefore, notAfter },
    }
  }

  const node = pair('tls', { cert: tls.cert, key: tls.key }, 'node', undefined)
  const listeners = new Map<string, KeyPairMaterial>()
  for (const [i, l] of config.listeners.entries()) {
    if (!l.tls) continue
    const m = pair(`listeners[${i}].tls`, l.tls, 'listener', l.name)
    if (m) listeners.set(l.name, m)
  }
  const services = new Map<string, KeyPairMaterial>()
  for (const [i, s] of config.local.services.entries()) {
    if (!s.tls) continue
    const m = pair(`local.services[${i}].tls`, s.tls, 'service', s.name)
    if (m) services.set(s.name, m)
  }
  if (issues.length > 0 || !node) throw new ConfigError(config.file, issues)

  const caInfo = cas.map((c): CertificateInfo => ({ role: 'ca', file: tls.ca, identity: `${c.subject.replace(/\n/g, ', ')} serial ${c.serialNumber.slice(0, 16).toLowerCase()}`, ...validity(c) }))
  const digests = new Map<string, string>()
  for (const [file, t] of texts) if (typeof t === 'string') digests.set(file, digest(t))
  return {
    cluster,
    ca: cas.map((c) => c.toString()).join(''),
    node,
    listeners,
    services,
    certificates: [node.info, ...[...listeners.values()].map((m) => m.info), ...[...services.values()].map((m) => m.info), ...caInfo],
    digests,
  }
}

/** Whether the chain of a certificate file (leaf first, then intermediates) ends at one of `cas`. */
function chains(certs: readonly X509Certificate[], cas: readonly X509Certificate[]): boolean {
  let current = certs[0]!
  const rest = certs.slice(1)
  for (let depth = 0; depth <= certs.length; depth++) {
    if (cas.some((ca) => issuedBy(current, ca))) return true
    const next = rest.find((c) => c !== current && issuedBy(current, c))
    if (!next) return false
    current = next
  }
  return false
}
