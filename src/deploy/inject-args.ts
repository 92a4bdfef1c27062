/**
 * The arguments of `commy inject FILE|- [options]`, read without touching process.*: main.ts
 * passes argv and the version, reads the file (or stdin for `-`) and prints the result.
 */
import { InjectError } from '../errors.js'
import { DEFAULT_INJECT_OPTIONS, type InjectOptions } from './sidecar-spec.js'

export const INJECT_USAGE = `usage: commy inject FILE|- [options]   print FILE (- for stdin) with the commy sidecar in every workload
  --image IMAGE            the commy image (default commy:<version>)
  --config NAME            ConfigMap with sidecar.yaml (default commy-config)
  --secrets NAME           Secret with gossip-key and admin-token (default commy-secrets)
  --tls-secret NAME        Secret with ca.pem, cert.pem, key.pem (default commy-tls)
  --no-tls                 no mesh certificates (a sidecar.yaml without tls: and inbound:)
  --gossip-service NAME    headless Service of the mesh, the gossip seed (default commy-gossip)
  --cluster-domain DOMAIN  the cluster's DNS domain (default cluster.local)`

export interface InjectArgs {
  /** A file path, or `-` for stdin. */
  readonly file: string
  readonly options: InjectOptions
}

const VALUE_FLAGS = {
  '--image': 'image',
  '--config': 'configMap',
  '--secrets': 'secrets',
  '--tls-secret': 'tlsSecret',
  '--gossip-service': 'gossipService',
  '--cluster-domain': 'clusterDomain',
} as const satisfies Record<string, keyof InjectOptions>

/** A Kubernetes object name (DNS subdomain) or an image reference: no spaces, no quotes. */
const VALUE = /^[A-Za-z0-9][A-Za-z0-9._:/@-]*$/

/** Throws InjectError (usage) on an unknown flag, a missing value or a missing FILE. */
export function parseInjectArgs(args: readonly string[], version: string): InjectArgs {
  const o: { -readonly [K in keyof InjectOptions]: InjectOptions[K] } = { ...DEFAULT_INJECT_OPTIONS, image: `commy:${version}` }
  let file: string | undefined
  let noTls = false
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    const eq = arg.indexOf('=')
    const flag = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg
    if (flag === '--no-tls') {
      noTls = true
    } else if (Object.hasOwn(VALUE_FLAGS, flag)) {
      const value = eq > 0 && arg.startsWith('--') ? arg.slice(eq + 1) : args[++i]
      if (value === undefined || !VALUE.test(value)) throw new InjectError(`${flag} needs a value (a name or an image)\n${INJECT_USAGE}`)
      o[VALUE_FLAGS[flag as keyof typeof VALUE_FLAGS]] = value
    } else if (arg !== '-' && arg.startsWith('-')) {
      throw new InjectError(`unknown option ${arg}\n${INJECT_USAGE}`)
    } else if (file === undefined) {
      file = arg
    } else {
      throw new InjectError(`one FILE only (got ${file} and ${arg})\n${INJECT_USAGE}`)
    }
  }
  if (file === undefined) throw new InjectError(INJECT_USAGE)
  return { file, options: Object.freeze({ ...o, tlsSecret: noTls ? undefined : o.tlsSecret }) }
}
