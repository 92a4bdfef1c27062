/**
 * Mesh TLS files in a temp directory for TlsStore / material tests: a CA, the node's leaf, and a
 * config slice pointing at them. `write` replaces a file the way a rotation does (new file renamed
 * over the old, like cert-manager and editors).
 */
import { renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { TlsConfigSlice } from '../../src/tls/store.js'
import { makeCa, makeLeaf, type Pem } from '../helpers/pki.js'
import { tempDir } from '../helpers/temp.js'

export interface TlsFiles {
  readonly dir: string
  readonly ca: Pem
  readonly leaf: Pem
  readonly config: TlsConfigSlice
  /** Writes `name` in the directory atomically (temp file + rename); returns its path. */
  write(name: string, text: string): string
}

export async function tlsFiles(options: { service?: string; cluster?: string; watch?: boolean } = {}): Promise<TlsFiles> {
  const dir = tempDir('commy-tls-')
  const ca = await makeCa()
  const leaf = await makeLeaf(ca, { service: options.service ?? 'users', cluster: options.cluster })
  const write = (name: string, text: string): string => {
    const path = join(dir, name)
    writeFileSync(`${path}.tmp`, text, { mode: 0o600 })
    renameSync(`${path}.tmp`, path)
    return path
  }
  write('ca.pem', ca.cert)
  write('cert.pem', leaf.cert)
  write('key.pem', leaf.key)
  const config: TlsConfigSlice = {
    file: join(dir, 'sidecar.yaml'),
    tls: { ca: join(dir, 'ca.pem'), cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem'), mode: 'strict', watch: options.watch ?? false },
    listeners: [],
    local: { services: [] },
    gossip: options.cluster ? ({ cluster: options.cluster } as TlsConfigSlice['gossip']) : undefined,
  }
  return { dir, ca, leaf, config, write }
}
