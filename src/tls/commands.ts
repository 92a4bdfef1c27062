/**
 * `commy ca create` and `commy cert create`, in the spirit of `consul tls ca create` / `step`:
 * a mesh CA, and leaf certificates carrying a service's SPIFFE identity, written as PEM files
 * (keys mode 0600, written to a temporary file and renamed into place, so a watching sidecar
 * never reads half a file). Made with tls/pki.ts (@peculiar/x509). main.ts owns argv and exit
 * codes; a refusal here is a `CommandResult` with `usage: true` for exit code 2.
 */
import { randomBytes, X509Certificate } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { parseSpiffeId, spiffeId } from './identity.js'
import { parseCertificates, parsePrivateKey } from './pem.js'
import { createCa, createLeaf } from './pki.js'

export type CommandResult = { readonly ok: true; readonly message: string } | { readonly ok: false; readonly message: string; readonly usage: boolean }

export const TLS_USAGE = `  commy ca create --out DIR [--name N] [--days N] [--force]
                            write DIR/ca.pem and DIR/ca-key.pem (mode 0600) for a new mesh CA
                            (10 years by default; an existing ca-key.pem is kept unless --force)
  commy cert create --ca DIR --service NAME --out DIR2 [--days N] [--cluster C]
                            write DIR2/cert.pem, DIR2/key.pem (0600) and DIR2/ca.pem (a copy of
                            DIR/ca.pem): identity spiffe://C/service/NAME (C: gossip.cluster,
                            default commy), signed by DIR/ca-key.pem, 90 days by default`

const refused = (message: string, usage = true): CommandResult => ({ ok: false, message, usage })

/** Writes `text` to `file` with `mode` (tmp file + rename: readers see the old or the new file). */
function writeAtomic(file: string, text: string, mode: number): void {
  const tmp = `${file}.tmp-${randomBytes(4).toString('hex')}`
  writeFileSync(tmp, text, { mode })
  chmodSync(tmp, mode) // mode on create is masked by the umask
  renameSync(tmp, file)
}

function days(value: string | undefined, fallback: number): number | string {
  if (value === undefined) return fallback
  const n = Number(value)
  return Number.isInteger(n) && n >= 1 && n <= 36_500 ? n : `--days must be a whole number of days from 1 to 36500, not "${value}"`
}

type Parsed = { values: Record<string, string | boolean | undefined> } | string

function parse(args: readonly string[], options: Record<string, { type: 'string' | 'boolean' }>): Parsed {
  try {
    return parseArgs({ args: [...args], options, strict: true, allowPositionals: false })
  } catch (err) {
    return (err as Error).message
  }
}

/** `commy ca create --out DIR [--name N] [--days N] [--force]` */
export async function caCreate(args: readonly string[]): Promise<CommandResult> {
  const p = parse(args, { out: { type: 'string' }, name: { type: 'string' }, days: { type: 'string' }, force: { type: 'boolean' } })
  if (typeof p === 'string') return refused(p)
  const { out, name, force } = p.values as { out?: string; name?: string; force?: boolean }
  if (!out) return refused('commy ca create needs --out DIR')
  const d = days(p.values.days as string | undefined, 3650)
  if (typeof d === 'string') return refused(d)
  const keyFile = join(out, 'ca-key.pem')
  if (existsSync(keyFile) && !force) {
    return refused(`${keyFile} exists: refusing to replace a CA key (--force replaces it; certificates signed by the old key are trusted only while its ca.pem stays in the bundle)`)
  }
  const ca = await createCa({ name, days: d })
  try {
    mkdirSync(out, { recursive: true, mode: 0o700 })
    writeAtomic(keyFile, ca.key, 0o600)
    writeAtomic(join(out, 'ca.pem'), ca.cert, 0o644)
  } catch (err) {
    return refused(`cannot write to ${out}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`, false)
  }
  const cert = new X509Certificate(ca.cert)
  return { ok: true, message: `wrote ${join(out, 'ca.pem')} and ${keyFile} (mode 0600)\nCA ${cert.subject} valid until ${new Date(cert.validTo).toISOString()}` }
}

/** `commy cert create --ca DIR --service NAME --out DIR2 [--days N] [--cluster C]` */
export async function certCreate(args: readonly string[]): Promise<CommandResult> {
  const p = parse(args, { ca: { type: 'string' }, service: { type: 'string' }, out: { type: 'string' }, days: { type: 'string' }, cluster: { type: 'string' } })
  if (typeof p === 'string') return refused(p)
  const { ca: caDir, service, out } = p.values as { ca?: string; service?: string; out?: string }
  const cluster = (p.values.cluster as string | undefined) ?? 'commy'
  if (!caDir || !service || !out) return refused('commy cert create needs --ca DIR, --service NAME and --out DIR2')
  if (!parseSpiffeId(spiffeId(cluster, service))) {
    return refused(`--service and --cluster must be names (letters, digits, _ . -; a service at most 63 characters): spiffe://${cluster}/service/${service} is not a commy identity`)
  }
  const d = days(p.values.days as string | undefined, 90)
  if (typeof d === 'string') return refused(d)

  const caFile = join(caDir, 'ca.pem')
  const caKeyFile = join(caDir, 'ca-key.pem')
  let caText: string
  let caKeyText: string
  try {
    caText = readFileSync(caFile, 'utf8')
    caKeyText = readFileSync(caKeyFile, 'utf8')
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    return refused(`cannot read ${e.path ?? caDir}: ${e.code === 'ENOENT' ? 'no such file (create a CA with `commy ca create --out DIR`)' : (e.code ?? 'error')}`)
  }
  const certs = parseCertificates(caText)
  if (!certs.ok) return refused(`${caFile}: ${certs.reason}`)
  const caCert = certs.value[0]!
  if (!caCert.ca) return refused(`${caFile}: the first certificate is not a CA certificate`)
  const key = parsePrivateKey(caKeyText)
  if (!key.ok) return refused(`${caKeyFile}: ${key.reason}`)
  if (!caCert.checkPrivateKey(key.value)) return refused(`${caKeyFile}: the key does not match ${caFile}`)
  if (Date.parse(caCert.validTo) < Date.now()) return refused(`${caFile}: the CA expired on ${new Date(caCert.validTo).toISOString()}`)

  let leaf
  try {
    leaf = await createLeaf({ cert: caCert.toString(), key: caKeyText }, { service, cluster, days: d })
  } catch {
    return refused(`${caKeyFile}: this CA key cannot sign (commy CAs are EC P-256, made by \`commy ca create\`)`)
  }
  try {
    mkdirSync(out, { recursive: true, mode: 0o700 })
    writeAtomic(join(out, 'key.pem'), leaf.key, 0o600)
    writeAtomic(join(out, 'cert.pem'), leaf.cert, 0o644)
    writeAtomic(join(out, 'ca.pem'), caText, 0o644)
  } catch (err) {
    return refused(`cannot write to ${out}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`, false)
  }
  const cert = new X509Certificate(leaf.cert)
  const until = new Date(cert.validTo)
  const late = until.getTime() > Date.parse(caCert.validTo) ? ` (after the CA expires, ${new Date(caCert.validTo).toISOString()}: renew the CA first)` : ''
  return {
    ok: true,
    message: `wrote ${join(out, 'cert.pem')}, ${join(out, 'key.pem')} (mode 0600) and ${join(out, 'ca.pem')}\nidentity ${spiffeId(cluster, service)} valid until ${until.toISOString()}${late}`,
  }
}
