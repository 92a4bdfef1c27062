/**
 * Reading PEM text with node:crypto (no hand-written ASN.1): the certificates of a file (a leaf
 * with its intermediates, or a CA bundle) and a private key. Failures are reasons, never the
 * bytes: nothing read from a key file is ever put in a message.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto'

const CERT_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g
const KEY_BLOCK = /-----BEGIN ((?:RSA |EC |ENCRYPTED )?PRIVATE KEY)-----/

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string }

/** Every certificate of a PEM file, in file order. */
export function parseCertificates(text: string): Parsed<X509Certificate[]> {
  const blocks = text.match(CERT_BLOCK)
  if (!blocks) return { ok: false, reason: 'not a PEM certificate file (no BEGIN CERTIFICATE block)' }
  const certs: X509Certificate[] = []
  for (const [i, block] of blocks.entries()) {
    try {
      certs.push(new X509Certificate(block))
    } catch {
      return { ok: false, reason: `PEM block ${i + 1} is not a valid X.509 certificate` }
    }
  }
  return { ok: true, value: certs }
}

/** The private key of a PEM file (PKCS#8, or PKCS#1/SEC1); an encrypted key is refused. */
export function parsePrivateKey(text: string): Parsed<KeyObject> {
  const m = KEY_BLOCK.exec(text)
  if (!m) return { ok: false, reason: 'not a PEM key file (no private key block)' }
  if (m[1] === 'ENCRYPTED PRIVATE KEY') return { ok: false, reason: 'the private key is encrypted (commy needs an unencrypted key, file mode 0600)' }
  try {
    // never echo the cause: OpenSSL's messages are safe today, but this is key material's path
    return { ok: true, value: createPrivateKey({ key: text, format: 'pem' }) }
  } catch {
    return { ok: false, reason: 'the PEM private key could not be read (damaged or an unsupported format)' }
  }
}

/** Wall-clock milliseconds of a certificate's notBefore / notAfter. */
export function validity(cert: X509Certificate): { readonly notBefore: number; readonly notAfter: number } {
  return { notBefore: Date.parse(cert.validFrom), notAfter: Date.parse(cert.validTo) }
}

/** Whether `cert` was signed by `issuer` (names match and the signature verifies). */
export function issuedBy(cert: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return cert.checkIssued(issuer) && cert.verify(issuer.publicKey)
  } catch {
    return false
  }
}
