/**
 * Kubernetes manifests without a cluster or kubectl: Kubernetes' own schemas (the kubernetes-models
 * devDependency), a small kustomization reader (resources, generated ConfigMaps, patches: what a
 * kustomization names must exist and parse), and the environment a pod of ours gets, so a
 * ConfigMap's sidecar.yaml can be loaded as commy would load it there.
 */
import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parseAllDocuments } from 'yaml'
import { DaemonSet, Deployment, ReplicaSet, StatefulSet } from 'kubernetes-models/apps/v1'
import { CronJob, Job } from 'kubernetes-models/batch/v1'
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1'
import { ConfigMap, Namespace, Pod, ReplicationController, Secret, Service } from 'kubernetes-models/v1'
import { makeCa, makeLeaf } from './pki.js'
import { tempDir } from './temp.js'

export type Obj = Record<string, unknown>

interface Validating {
  validate(): void
}
const MODELS: Record<string, new (o: never) => Validating> = {
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'apps/v1/DaemonSet': DaemonSet,
  'apps/v1/ReplicaSet': ReplicaSet,
  'batch/v1/Job': Job,
  'batch/v1/CronJob': CronJob,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'v1/Pod': Pod,
  'v1/ReplicationController': ReplicationController,
  'v1/Service': Service,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Namespace': Namespace,
}

/** Validates a resource against Kubernetes' schema for its apiVersion and kind (throws). */
export function validateResource(o: Obj): void {
  const key = `${String(o.apiVersion)}/${String(o.kind)}`
  if (key === 'v1/List') {
    // kubernetes-models has no List: its items are what matters
    if (!Array.isArray(o.items)) throw new Error('List: items is not a list')
    for (const item of o.items as Obj[]) validateResource(item)
    return
  }
  const Model = MODELS[key]
  if (!Model) throw new Error(`no schema for ${key}`)
  new Model(o as never).validate()
}

/** Every document of a YAML stream as plain objects (empty documents left out); throws on a YAML error. */
export function parseStream(text: string, file = '(text)'): Obj[] {
  const out: Obj[] = []
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]!.message}`)
    const v: unknown = doc.toJS()
    if (v !== null && v !== undefined) out.push(v as Obj)
  }
  return out
}

export interface Rendered {
  /** Resources of the kustomization and of every kustomization it includes, with their file. */
  readonly resources: readonly { readonly file: string; readonly resource: Obj }[]
  /** Generated ConfigMaps: name -> file name -> absolute path (the last `behavior: replace` wins). */
  readonly configMaps: ReadonlyMap<string, ReadonlyMap<string, string>>
  /** Patch files (absolute), parsed. */
  readonly patches: readonly { readonly file: string; readonly resource: Obj }[]
  readonly images: readonly Obj[]
  readonly namespace: string | undefined
}

/** Reads `dir/kustomization.yaml` and what it includes; throws naming the file that is missing or wrong. */
export function renderKustomization(dir: string): Rendered {
  const file = join(dir, 'kustomization.yaml')
  if (!existsSync(file)) throw new Error(`${dir}: no kustomization.yaml`)
  const [k] = parseStream(readFileSync(file, 'utf8'), file)
  if (!k || k.kind !== 'Kustomization' || k.apiVersion !== 'kustomize.config.k8s.io/v1beta1') throw new Error(`${file}: not a Kustomization`)
  const resources: { file: string; resource: Obj }[] = []
  const configMaps = new Map<string, Map<string, string>>()
  const patches: { file: string; resource: Obj }[] = []
  const images: Obj[] = []
  for (const r of (k.resources as string[] | undefined) ?? []) {
    const path = resolve(dir, r)
    if (!existsSync(path)) throw new Error(`${file}: resource ${r} does not exist`)
    if (statSync(path).isDirectory()) {
      const sub = renderKustomization(path)
      resources.push(...sub.resources)
      sub.configMaps.forEach((files, name) => configMaps.set(name, new Map(files)))
      patches.push(...sub.patches)
      images.push(...sub.images)
    } else {
      for (const resource of parseStream(readFileSync(path, 'utf8'), path)) resources.push({ file: path, resource })
    }
  }
  for (const g of (k.configMapGenerator as Obj[] | undefined) ?? []) {
    const name = String(g.name)
    const files = new Map<string, string>(g.behavior === 'merge' ? (configMaps.get(name) ?? []) : [])
    if (g.behavior !== undefined && !configMaps.has(name)) throw new Error(`${file}: configMapGenerator ${name}: behavior ${JSON.stringify(g.behavior)} but no base generates it`)
    for (const f of (g.files as string[] | undefined) ?? []) {
      const path = resolve(dir, f)
      if (!existsSync(path)) throw new Error(`${file}: configMapGenerator ${name}: ${f} does not exist`)
      files.set(f.split('/').pop()!, path)
    }
    configMaps.set(name, files)
  }
  for (const p of (k.patches as Obj[] | undefined) ?? []) {
    const path = resolve(dir, String(p.path))
    if (!existsSync(path)) throw new Error(`${file}: patch ${String(p.path)} does not exist`)
    for (const resource of parseStream(readFileSync(path, 'utf8'), path)) patches.push({ file: path, resource })
  }
  images.push(...((k.images as Obj[] | undefined) ?? []))
  return { resources, configMaps, patches, images, namespace: k.namespace as string | undefined }
}

/** `kind/name` of a resource, for messages. */
export function resourceName(o: Obj): string {
  return `${String(o.kind)}/${String((o.metadata as Obj | undefined)?.name)}`
}

/** The pod template of a workload (the pod for a Pod), or undefined for other kinds. */
export function podTemplate(o: Obj): Obj | undefined {
  const spec = o.spec as Obj | undefined
  switch (o.kind) {
    case 'Pod':
      return o
    case 'CronJob':
      return ((spec?.jobTemplate as Obj | undefined)?.spec as Obj | undefined)?.template as Obj | undefined
    case 'Deployment':
    case 'StatefulSet':
    case 'DaemonSet':
    case 'ReplicaSet':
    case 'ReplicationController':
    case 'Job':
      return spec?.template as Obj | undefined
    default:
      return undefined
  }
}

/**
 * The environment the Deployment's downward API and Secrets give commy, with real certificates
 * for `service` in a temporary COMMY_TLS_DIR (spiffe://commy/service/<service>).
 */
export async function podEnv(service: string): Promise<Record<string, string>> {
  const dir = tempDir('commy-k8s-tls-')
  const ca = await makeCa()
  const leaf = await makeLeaf(ca, { service })
  writeFileSync(join(dir, 'ca.pem'), ca.cert)
  writeFileSync(join(dir, 'cert.pem'), leaf.cert)
  writeFileSync(join(dir, 'key.pem'), leaf.key, { mode: 0o600 })
  return {
    POD_NAME: `${service}-7d9f8-abcde`,
    POD_NAMESPACE: 'shop',
    POD_IP: '10.42.0.17',
    NODE_NAME: 'node-a',
    COMMY_GOSSIP_SEED: 'commy-gossip.shop.svc.cluster.local:7946',
    COMMY_GOSSIP_KEY: randomBytes(32).toString('base64'),
    COMMY_ADMIN_TOKEN: randomBytes(24).toString('hex'),
    COMMY_TLS_DIR: dir,
  }
}
