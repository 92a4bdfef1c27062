/**
 * Creating a mesh PKI with @peculiar/x509 (no hand-written ASN.1): a CA, and leaf certificates
 * carrying one SPIFFE URI SAN (`spiffe://<cluster>/service/<name>`), usable as TLS server and
 * client certificates. EC P-256 keys, SHA-256 signatures; PEM out (keys as PKCS#8).
 * Used by `commy ca create` / `commy cert create` and by tests.
 */
import { webcrypto } from 'node:crypto'
import 'reflect-metadata' // @peculiar/x509's dependency injection (tsyringe) needs it loaded first
import * as x509 from '@peculiar/x509'
import { spiffeId } from './identity.js'

type CryptoKey = webcrypto.CryptoKey

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0])

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const
const DAY = 86_400_000

export interface PemPair {
  /** PEM certificate. */
  readonly cert: string
  /** PEM PKCS#8 private key. */
  readonly key: string
}

function serial(): string {
  // 16 random bytes, positive (RFC 5280 §4.1.2.2: at most 20 octets, non-negative)
  const b = webcrypto.getRandomValues(new Uint8Array(16))
  b[0] = b[0]! & 0x7f
  return Buffer.from(b).toString('hex')
}

async function pemKey(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key)
  return endLine(x509.PemConverter.encode(der, 'PRIVATE KEY'))
}

/** PEM text ends with a newline, so `cat old.pem new.pem > bundle.pem` gives two valid blocks (openssl, curl). */
function endLine(pem: string): string {
  return pem.endsWith('\n') ? pem : `${pem}\n`
}

export interface CaOptions {
  /** Subject common name. */
  readonly name?: string
  /** Days valid (default 3650). */
  readonly days?: number
  /** Not before (default now - 5 minutes, for clock skew). */
  readonly notBefore?: Date
}

/** A self-signed CA certificate and its key. */
export async function createCa(options: CaOptions = {}): Promise<PemPair> {
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']))
  const notBefore = options.notBefore ?? new Date(Date.now() - 5 * 60_000)
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${escapeDn(options.name ?? 'commy mesh CA')}`,
    notBefore,
    notAfter: new Date(notBefore.getTime() + (options.days ?? 3650) * DAY),
    signingAlgorithm: ALG,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  })
  return { cert: endLine(cert.toString('pem')), key: await pemKey(keys.privateKey) }
}

export interface LeafOptions {
  /** The service: the SPIFFE ID's name. undefined = a certificate without a mesh identity (tests). */
  readonly service: string | undefined
  /** Trust domain (gossip.cluster). Default 'commy'. */
  readonly cluster?: string
  /** Days valid (default 90). */
  readonly days?: number
  /** Not before (default now - 5 minutes). */
  readonly notBefore?: Date
  /** Extra DNS names. */
  readonly dnsNames?: readonly string[]
}

/** A leaf certificate signed by `ca`. */
export async function createLeaf(ca: PemPair, options: LeafOptions): Promise<PemPair> {
  const caCert = new x509.X509Certificate(ca.cert)
  const caKey = await webcrypto.subtle.importKey('pkcs8', x509.PemConverter.decodeFirst(ca.key), ALG, false, ['sign'])
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']))
  const notBefore = options.notBefore ?? new Date(Date.now() - 5 * 60_000)
  const names: x509.JsonGeneralName[] = [
    ...(options.service !== undefined ? [{ type: 'url' as const, value: spiffeId(options.cluster ?? 'commy', options.service) }] : []),
    ...(options.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
  ]
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${escapeDn(options.service ?? 'no identity')}`,
    issuer: caCert.subject,
    notBefore,
    notAfter: new Date(notBefore.getTime() + (options.days ?? 90) * DAY),
    signingAlgorithm: ALG,
    publicKey: keys.publicKey,
    signingKey: caKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      ...(names.length > 0 ? [new x509.SubjectAlternativeNameExtension(names, true)] : []),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
    ],
  })
  return { cert: endLine(cert.toString('pem')), key: await pemKey(keys.privateKey) }
}

/** Escapes a value for an RFC 4514 distinguished name. */
function escapeDn(v: string): string {
  return v.replace(/[,+"\\<>;=#]/g, (c) => `\\${c}`)
}
