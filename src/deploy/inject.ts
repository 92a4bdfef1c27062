/**
 * `commy inject`: Kubernetes YAML in, the same YAML with the commy sidecar in every workload out
 * (as `linkerd inject`). A pure function from text to text:
 * - a multi-document stream and `List`s are walked; every workload of a kind in workloads.ts gets
 *   the native sidecar, its volumes, the mesh label and scrape annotations (sidecar-spec.ts);
 * - a document it does not change is written back byte for byte (other kinds, a workload already
 *   injected with the same options, `commy.dev/inject: disabled`, hostNetwork pods);
 * - a changed document keeps its comments and key order (the `yaml` Document API);
 * - injecting twice gives the same output: an existing commy container (in initContainers, or an
 *   old-style one in containers) and its volumes are replaced by name, so re-injecting with a new
 *   `--image` upgrades;
 * - a document it cannot inject throws an InjectError naming the document and the reason.
 */
import { isDeepStrictEqual } from 'node:util'
import { CST, Composer, Document, isMap, isScalar, isSeq, Pair, Parser, Scalar, YAMLMap, YAMLSeq } from 'yaml'
import { InjectError } from '../errors.js'
import {
  commyContainer,
  commyVolumes,
  CONTAINER_NAME,
  INJECT_ANNOTATION,
  MESH_LABEL,
  MIN_TERMINATION_GRACE_SECONDS,
  SCRAPE_ANNOTATIONS,
  TAKEN_PORTS,
  type InjectOptions,
} from './sidecar-spec.js'
import { isList, podTemplatePath } from './workloads.js'

export type InjectOutcome = 'injected' | 'unchanged' | 'skipped'

/** What happened to one workload (other resources are not reported). */
export interface InjectReport {
  /** `Deployment/users`. */
  readonly resource: string
  /** 1-based index of the document in the stream. */
  readonly document: number
  readonly outcome: InjectOutcome
  /** Why a workload was skipped. */
  readonly reason?: string
}

export interface InjectResult {
  readonly output: string
  readonly reports: readonly InjectReport[]
}

export function inject(text: string, options: InjectOptions): InjectResult {
  const reports: InjectReport[] = []
  let output = ''
  let index = 0
  for (const token of new Parser().parse(text)) {
    const source = CST.stringify(token)
    if (token.type !== 'document') {
      if (token.type === 'error') throw new InjectError(`document ${index + 1}: YAML: ${token.message}`)
      output += source
      continue
    }
    index++
    const doc = [...new Composer().compose([token])][0]!
    output += injectDocument(doc, source, index, options, reports)
  }
  return { output, reports }
}

function injectDocument(doc: Document, source: string, index: number, o: InjectOptions, reports: InjectReport[]): string {
  const firstError = doc.errors[0]
  if (firstError) throw new InjectError(`document ${index}: YAML: ${firstError.message.split('\n')[0]}`)
  if (!isMap(doc.contents)) return source
  const ctx: Context = { doc, index, o, reports, changed: false }
  injectResource(ctx, doc.contents, '')
  if (!ctx.changed) return source
  // a sequence written flush with its key (`containers:\n- name`) keeps that style
  const indentSeq = !/^( *)[^\s#-][^\n]*:[ \t]*\n\1- /m.test(source)
  return doc.toString({ lineWidth: 0, indentSeq })
}

interface Context {
  readonly doc: Document
  readonly index: number
  readonly o: InjectOptions
  readonly reports: InjectReport[]
  changed: boolean
}

function injectResource(ctx: Context, resource: YAMLMap, within: string): void {
  const kind = resource.get('kind')
  const name = resource.getIn(['metadata', 'name'])
  const label = `${typeof kind === 'string' ? kind : '(no kind)'}${typeof name === 'string' ? `/${name}` : ''}`
  const where = `document ${ctx.index} (${within}${label})`
  if (isList(kind)) {
    const items = resource.get('items', true)
    if (items === undefined || items === null) return
    if (!isSeq(items)) throw new InjectError(`${where}: items is not a list`)
    items.items.forEach((item, i) => {
      if (!isMap(item)) throw new InjectError(`${where}: items[${i}] is not a resource (a mapping)`)
      injectResource(ctx, item, `${within}${label} items[${i}] `)
    })
    return
  }
  const path = podTemplatePath(kind)
  if (path === undefined) return
  const report = (outcome: InjectOutcome, reason?: string): void => {
    ctx.reports.push({ resource: `${within}${label}`, document: ctx.index, outcome, ...(reason !== undefined ? { reason } : {}) })
  }
  const template = path.length === 0 ? resource : resource.getIn(path, true)
  if (!isMap(template)) throw new InjectError(`${where}: ${path.join('.')} is missing or not a mapping`)
  if (disabled(resource) || disabled(template)) return report('skipped', `${INJECT_ANNOTATION}: disabled`)
  const spec = template.get('spec', true)
  if (!isMap(spec)) throw new InjectError(`${where}: ${[...path, 'spec'].join('.')} is missing or not a mapping`)
  if (spec.get('hostNetwork') === true) {
    return report('skipped', "hostNetwork: the pod uses the node's ports (use the per-node DaemonSet, deploy/kubernetes/daemonset)")
  }
  const before: unknown = template.toJS(ctx.doc)
  const at = (...keys: string[]) => [...path, 'spec', ...keys].join('.')
  const containers = spec.get('containers', true)
  if (!isSeq(containers) || containers.items.length === 0) throw new InjectError(`${where}: ${at('containers')} is missing or not a list`)
  checkPorts(containers, where, at('containers'))

  // an old-style sidecar among the app's containers moves to initContainers
  const old = containers.items.findIndex((c) => isMap(c) && c.get('name') === CONTAINER_NAME)
  if (old >= 0) containers.items.splice(old, 1)
  const inits = seqAt(spec, 'initContainers', where, at('initContainers'))
  upsertByName(ctx, inits, commyContainer(ctx.o), 'first')
  const volumes = seqAt(spec, 'volumes', where, at('volumes'))
  for (const v of commyVolumes(ctx.o)) upsertByName(ctx, volumes, v, 'last')

  const grace = spec.get('terminationGracePeriodSeconds')
  if (typeof grace !== 'number' || grace < MIN_TERMINATION_GRACE_SECONDS) spec.set('terminationGracePeriodSeconds', MIN_TERMINATION_GRACE_SECONDS)
  const meta = (...keys: string[]) => [...path, 'metadata', ...keys].join('.')
  const metadata = mapAt(template, 'metadata', where, meta())
  mapAt(metadata, 'labels', where, meta('labels')).set(MESH_LABEL, 'true')
  const annotations = mapAt(metadata, 'annotations', where, meta('annotations'))
  if (!annotations.has('prometheus.io/scrape')) for (const [k, v] of Object.entries(SCRAPE_ANNOTATIONS)) annotations.set(k, v)
  if (isDeepStrictEqual(before, template.toJS(ctx.doc))) return report('unchanged')
  ctx.changed = true
  report('injected')
}

function disabled(node: YAMLMap): boolean {
  return node.getIn(['metadata', 'annotations', INJECT_ANNOTATION]) === 'disabled'
}

/** An app container listening on a port commy takes in the pod's network namespace. */
function checkPorts(containers: YAMLSeq, where: string, at: string): void {
  containers.items.forEach((c, i) => {
    if (!isMap(c)) throw new InjectError(`${where}: ${at}[${i}] is not a container (a mapping)`)
    if (c.get('name') === CONTAINER_NAME) return
    const ports = c.get('ports', true)
    if (!isSeq(ports)) return
    for (const p of ports.items) {
      const port = isMap(p) ? Number(p.get('containerPort')) : NaN
      if (TAKEN_PORTS.has(port)) {
        throw new InjectError(`${where}: container "${String(c.get('name'))}" uses port ${port}, which commy takes (${[...TAKEN_PORTS].join(', ')})`)
      }
    }
  })
}

/** The list at `key`, created when absent (initContainers just before containers, as people write it). */
function seqAt(parent: YAMLMap, key: string, where: string, at: string): YAMLSeq {
  const node = parent.get(key, true)
  if (node === undefined || (isScalar(node) && node.value === null)) {
    const seq = new YAMLSeq()
    const before = key === 'initContainers' ? parent.items.findIndex((p) => isScalar(p.key) && p.key.value === 'containers') : -1
    if (node === undefined && before >= 0) parent.items.splice(before, 0, new Pair(new Scalar(key), seq))
    else parent.set(key, seq)
    return seq
  }
  if (!isSeq(node)) throw new InjectError(`${where}: ${at} is not a list`)
  return node
}

function mapAt(parent: YAMLMap, key: string, where: string, at: string): YAMLMap {
  const node = parent.get(key, true)
  if (node === undefined || (isScalar(node) && node.value === null)) {
    const map = new YAMLMap()
    parent.set(key, map)
    return map
  }
  if (!isMap(node)) throw new InjectError(`${where}: ${at} is not a mapping`)
  return node
}

/** Replaces the item with the same `name`, or adds it first/last. */
function upsertByName(ctx: Context, seq: YAMLSeq, value: object, where: 'first' | 'last'): void {
  const node = ctx.doc.createNode(value)
  const mode = node.getIn(['secret', 'defaultMode'], true)
  if (isScalar(mode) && typeof mode.value === 'number') mode.comment = ` 0${mode.value.toString(8)}`
  const i = seq.items.findIndex((item) => isMap(item) && item.get('name') === (value as { name: unknown }).name)
  if (i >= 0) seq.items[i] = node
  else if (where === 'first') seq.items.unshift(node)
  else seq.items.push(node)
}
