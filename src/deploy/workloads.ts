/**
 * Where a workload keeps its pod spec: the kinds `commy inject` changes and the path of their
 * pod template (the pod itself for a Pod). Every other kind passes through untouched.
 */

/** Path from the resource to the object holding `metadata` (labels, annotations) and `spec` of its pods. */
const POD_TEMPLATE: Readonly<Record<string, readonly string[]>> = Object.freeze({
  Pod: [],
  Deployment: ['spec', 'template'],
  StatefulSet: ['spec', 'template'],
  DaemonSet: ['spec', 'template'],
  ReplicaSet: ['spec', 'template'],
  ReplicationController: ['spec', 'template'],
  Job: ['spec', 'template'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template'],
})

/** The pod template path of `kind`, or undefined when commy does not inject into it. */
export function podTemplatePath(kind: unknown): readonly string[] | undefined {
  return typeof kind === 'string' && Object.hasOwn(POD_TEMPLATE, kind) ? POD_TEMPLATE[kind] : undefined
}

/** `kind: List` and typed lists (`DeploymentList`, …): resources under `items`. */
export function isList(kind: unknown): boolean {
  return typeof kind === 'string' && /^([A-Z][A-Za-z]*)?List$/.test(kind)
}

export const INJECTABLE_KINDS: readonly string[] = Object.freeze(Object.keys(POD_TEMPLATE))
