/**
 * Mesh identities: SPIFFE IDs of the form `spiffe://<cluster>/service/<name>` (the trust domain is
 * `gossip.cluster`), carried as the one URI SAN of a certificate. One home for the format: the
 * CLI writes it, the inbound listener reads the caller's, the transport checks the peer's.
 */
import type { PeerCertificate } from 'node:tls'

export interface MeshIdentity {
  /** Trust domain: the gossip cluster name. */
  readonly cluster: string
  /** Service name. */
  readonly service: string
}

const SPIFFE = /^spiffe:\/\/([A-Za-z0-9._-]+)\/service\/([A-Za-z0-9][A-Za-z0-9_.-]{0,62})$/

/** The SPIFFE ID of a service in a cluster. */
export function spiffeId(cluster: string, service: string): string {
  return `spiffe://${cluster}/service/${service}`
}

/** Parses `spiffe://<cluster>/service/<name>`; undefined for anything else. */
export function parseSpiffeId(uri: string): MeshIdentity | undefined {
  const m = SPIFFE.exec(uri)
  return m ? { cluster: m[1]!, service: m[2]! } : undefined
}

/** The URI SANs in Node's `subjectaltname` text (`DNS:a, URI:spiffe://…, IP Address:…`). */
export function uriSans(subjectaltname: string | undefined): string[] {
  if (!subjectaltname) return []
  const out: string[] = []
  // values may be quoted when they contain a comma (Node >= 17.3.1 escapes them as JSON strings)
  for (const m of subjectaltname.matchAll(/URI:("(?:[^"\\]|\\.)*"|[^,]*)/g)) {
    const v = m[1]!.trim()
    out.push(v.startsWith('"') ? (JSON.parse(v) as string) : v)
  }
  return out
}

/**
 * The mesh identity a certificate carries: exactly one SPIFFE URI SAN of the commy form.
 * undefined when there is none, or more than one (SPIFFE: an SVID has one URI SAN).
 */
export function identityOf(cert: Pick<PeerCertificate, 'subjectaltname'> | undefined): MeshIdentity | undefined {
  const ids = uriSans(cert?.subjectaltname).filter((u) => u.startsWith('spiffe://'))
  if (ids.length !== 1) return undefined
  return parseSpiffeId(ids[0]!)
}
