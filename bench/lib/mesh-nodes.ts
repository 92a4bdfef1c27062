/**
 * Pieces of the mesh benches (`mtls.ts`, `mtls-rotation.ts`): commy processes started from a YAML
 * string with their log in a file (ports read from its lines), an admin poll for learned
 * endpoints, a node's TLS files (written atomically, as secret managers do), and a mesh PKI made
 * with src/tls/pki.ts — the code behind `commy ca create` / `commy cert create`.
 */
import type { ChildProcess } from 'node:child_process'
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { join } from 'node:path'
import { createCa, createLeaf, type PemPair } from '../../src/tls/pki.js'
import { start } from './harness.js'

export interface CommyProc {
  readonly name: string
  readonly child: ChildProcess
  readonly logFile: string
  /** Bound ports read from the log: outbound listener, admin, gossip. */
  readonly ports: { outbound: number; admin: number; gossip: number }
}

type Line = Record<string, unknown>

function lines(file: string): Line[] {
  if (!existsSync(file)) return []
  const out: Line[] = []
  for (const l of readFileSync(file, 'utf8').split('\n')) {
    try {
      out.push(JSON.parse(l) as Line)
    } catch {
      // a partial last line
    }
  }
  return out
}

const portOf = (address: unknown) => Number(/:(\d+)$/.exec(String(address))?.[1] ?? 0)

/** Starts `node main --config <dir>/<name>.yaml` pinned to `cpu`; resolves once its listener (and gossip, when `gossip`) are up. */
export async function startCommy(main: string, dir: string, name: string, yaml: string, cpu: number, gossip: boolean): Promise<CommyProc> {
  const file = join(dir, `${name}.yaml`)
  const logFile = join(dir, `${name}.log`)
  writeFileSync(file, yaml.replaceAll('$LOG', logFile))
  writeFileSync(logFile, '')
  const child = start([main, '--config', file], cpu)
  child.stdout!.resume()
  const ports = { outbound: 0, admin: 0, gossip: 0 }
  const until = Date.now() + 15_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}: ${readFileSync(logFile, 'utf8').slice(-2000)}`)
    for (const l of lines(logFile)) {
      if (l.msg === 'listening' && l.listener === 'outbound') ports.outbound = portOf(l.address)
      else if (l.msg === 'admin server listening') ports.admin = portOf(l.address)
      else if (l.msg === 'gossip started') ports.gossip = portOf(l.address)
    }
    if (ports.outbound > 0 && ports.admin > 0 && (!gossip || (ports.gossip > 0 && lines(logFile).some((l) => l.msg === 'gossip plugin started')))) break
    if (Date.now() > until) throw new Error(`${name} did not start: ${readFileSync(logFile, 'utf8').slice(-2000)}`)
    await new Promise((r) => setTimeout(r, 50))
  }
  return { name, child, logFile, ports }
}

/** Log lines of a node whose `msg` matches. */
export function logged(p: CommyProc, msg: RegExp): Line[] {
  return lines(p.logFile).filter((l) => msg.test(String(l.msg)))
}

/** Polls the admin API until `service` has `n` endpoints at this node. */
export async function untilEndpoints(p: CommyProc, service: string, n: number, ms = 10_000): Promise<void> {
  const until = Date.now() + ms
  for (;;) {
    try {
      const res = await fetch(`http://127.0.0.1:${p.ports.admin}/v1/endpoints?service=${service}`)
      const body = (await res.json()) as { endpoints?: unknown[] }
      if ((body.endpoints?.length ?? 0) >= n) return
    } catch {
      // not up yet
    }
    if (Date.now() > until) throw new Error(`${p.name}: ${service} has no ${n} endpoint(s) after ${ms} ms`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** A free loopback port (bound and released). */
export async function freePort(): Promise<number> {
  const s = net.createServer()
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))
  const port = (s.address() as net.AddressInfo).port
  await new Promise<void>((resolve) => s.close(() => resolve()))
  return port
}

/** A node's TLS files. */
export interface TlsFiles {
  readonly ca: string
  readonly cert: string
  readonly key: string
}

/** Replaces `file` with `text` by one rename. */
export function replaceFile(file: string, text: string): void {
  writeFileSync(`${file}.tmp`, text, { mode: 0o600 })
  renameSync(`${file}.tmp`, file)
}

/** Writes `<dir>/<name>-{ca,cert,key}.pem`. */
export function writeTls(dir: string, name: string, ca: string, leaf: PemPair): TlsFiles {
  const f = { ca: join(dir, `${name}-ca.pem`), cert: join(dir, `${name}-cert.pem`), key: join(dir, `${name}-key.pem`) }
  replaceFile(f.ca, ca)
  replaceFile(f.key, leaf.key)
  replaceFile(f.cert, leaf.cert)
  return f
}

/** The key first, then the certificate, each atomically. */
export function replaceLeaf(f: TlsFiles, leaf: PemPair): void {
  replaceFile(f.key, leaf.key)
  replaceFile(f.cert, leaf.cert)
}

/** A CA and one leaf per service, for `cluster`. */
export async function meshPki(cluster: string, services: readonly string[]): Promise<{ ca: PemPair; leaves: Map<string, PemPair> }> {
  const ca = await createCa({ name: `${cluster} bench CA` })
  const leaves = new Map<string, PemPair>()
  for (const s of services) leaves.set(s, await createLeaf(ca, { service: s, cluster }))
  return { ca, leaves }
}

/** The `tls:` block of a node. */
export const tlsYaml = (f: TlsFiles) => `tls: { ca: ${f.ca}, cert: ${f.cert}, key: ${f.key} }\n`
