/**
 * deploy/kubernetes: every kustomization names files that exist and parse, every resource passes
 * Kubernetes' schema (kubernetes-models), every ConfigMap's sidecar.yaml passes `commy validate`
 * with the environment a pod gets, and the manifests agree with the config they mount (ports,
 * probes, volumes, labels, drain times) and with what `commy inject` writes.
 */
import { readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { parse } from 'yaml'
import { builtinStrategies } from '../../src/balancer/registry.js'
import { loadConfigFile } from '../../src/config/load.js'
import type { SidecarConfig } from '../../src/config/types.js'
import { inject } from '../../src/deploy/inject.js'
import { commyContainer, commyVolumes, DEFAULT_INJECT_OPTIONS } from '../../src/deploy/sidecar-spec.js'
import { podEnv, podTemplate, renderKustomization, resourceName, validateResource, type Obj, type Rendered } from '../helpers/k8s.js'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const K8S = join(ROOT, 'deploy/kubernetes')
const KUSTOMIZATIONS = ['mesh', 'base', 'daemonset', 'overlays/example']

const rendered = new Map<string, Rendered>(KUSTOMIZATIONS.map((k) => [k, renderKustomization(join(K8S, k))]))

/** Loads a sidecar.yaml as `commy validate` does in a pod of that service. */
async function loadInPod(file: string): Promise<SidecarConfig> {
  const raw = parse(readFileSync(file, 'utf8')) as { local?: { services?: { name: string }[] } }
  const service = raw.local?.services?.[0]?.name ?? 'commy-node'
  return loadConfigFile(file, { env: await podEnv(service), strategies: builtinStrategies().names() })
}

const portOf = (address: { readonly port: number }) => address.port

type Container = Obj & { name: string; ports?: Obj[]; volumeMounts?: Obj[]; env?: Obj[] }

function commyOf(spec: Obj): { container: Container; native: boolean } | undefined {
  const inits = (spec.initContainers as Container[] | undefined) ?? []
  const found = inits.find((c) => c.name === 'commy')
  if (found) return { container: found, native: true }
  const plain = (spec.containers as Container[]).find((c) => c.name === 'commy')
  return plain ? { container: plain, native: false } : undefined
}

t.test('every kustomization names files that exist, and every resource passes the Kubernetes schema', async (t) => {
  for (const [name, r] of rendered) {
    t.ok(r.resources.length > 0, `${name}: has resources`)
    for (const { file, resource } of r.resources) {
      t.doesNotThrow(() => validateResource(resource), `${name}: ${resourceName(resource)} (${file.slice(K8S.length + 1)}) is valid`)
    }
    for (const { file, resource } of r.patches) {
      const target = r.resources.find((x) => resourceName(x.resource) === resourceName(resource))
      t.ok(target, `${name}: patch ${file.slice(K8S.length + 1)} targets ${resourceName(resource)}, which exists`)
    }
  }
  for (const [name, r] of rendered) {
    // kustomize's `images:` matches a container's image by name (tag left out): a typo changes nothing silently
    const used = new Set<string>()
    for (const { resource } of r.resources) {
      const spec = podTemplate(resource)?.spec as Obj | undefined
      for (const c of [...((spec?.initContainers as Obj[] | undefined) ?? []), ...((spec?.containers as Obj[] | undefined) ?? [])]) {
        used.add(String(c.image).replace(/:[^/:]+$/, ''))
      }
    }
    for (const image of r.images) t.ok(used.has(String(image.name)), `${name}: images: ${String(image.name)} is used by a container`)
  }
  t.same([...rendered.get('base')!.configMaps.keys()], ['commy-config'])
  t.same([...rendered.get('daemonset')!.configMaps.keys()], ['commy-node-config'])
  t.equal(rendered.get('overlays/example')!.configMaps.get('commy-config')!.get('sidecar.yaml'), join(K8S, 'overlays/example/sidecar.yaml'))
  t.equal(rendered.get('overlays/example')!.namespace, 'shop')
})

t.test('every sidecar.yaml a ConfigMap is generated from passes commy validate in a pod', async (t) => {
  const files = new Set<string>()
  for (const r of rendered.values()) for (const cm of r.configMaps.values()) for (const path of cm.values()) files.add(path)
  t.equal(files.size, 3, 'base, daemonset, overlay')
  for (const file of files) {
    const config = await loadInPod(file)
    t.ok(config.probes, `${file.slice(K8S.length + 1)}: probes listener set`)
    t.ok(config.gossip && config.tls, `${file.slice(K8S.length + 1)}: gossip and mTLS`)
    t.equal(config.admin.listen.host, '127.0.0.1', 'the admin API stays on loopback')
  }
})

t.test('each workload agrees with the config it mounts: probes, ports, volumes, labels, drain', async (t) => {
  for (const [name, r] of rendered) {
    const service = r.resources.find((x) => x.resource.kind === 'Service')?.resource
    const policy = r.resources.find((x) => x.resource.kind === 'NetworkPolicy' && resourceName(x.resource) === 'NetworkPolicy/commy-mesh')?.resource
    for (const { resource } of r.resources) {
      const template = podTemplate(resource)
      if (!template) continue
      const what = `${name}: ${resourceName(resource)}`
      const spec = template.spec as Obj
      const labels = (template.metadata as Obj).labels as Record<string, string>
      const annotations = (template.metadata as Obj).annotations as Record<string, string>
      const commy = commyOf(spec)
      if (!commy) {
        t.fail(`${what}: has a commy container`)
        continue
      }
      const c = commy.container
      t.equal(c.restartPolicy, commy.native ? 'Always' : undefined, `${what}: a native sidecar, or the DaemonSet's only container`)
      t.same(c.args, ['--config', '/etc/commy/config/sidecar.yaml'])
      const configVolume = (spec.volumes as Obj[]).find((v) => v.name === (c.volumeMounts ?? []).find((m) => m.mountPath === '/etc/commy/config')?.name)
      const cmName = (configVolume?.configMap as Obj | undefined)?.name as string
      const cm = r.configMaps.get(cmName)
      t.ok(cm?.has('sidecar.yaml'), `${what}: mounts the generated ConfigMap ${cmName}`)
      const config = await loadInPod(cm!.get('sidecar.yaml')!)
      const probePort = portOf(config.probes!.listen)
      for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
        const get = (c[probe] as Obj).httpGet as Obj
        t.equal(get.port, probePort, `${what}: ${probe} on the probe listener`)
        t.equal(get.host, undefined, `${what}: ${probe} without host (the kubelet probes the pod IP)`)
      }
      t.equal(((c.readinessProbe as Obj).httpGet as Obj).path, '/readyz')
      t.equal(((c.livenessProbe as Obj).httpGet as Obj).path, '/healthz')
      t.equal(annotations['prometheus.io/port'], String(probePort), `${what}: Prometheus scrapes the probe listener`)
      t.equal(annotations['prometheus.io/path'], '/metrics')
      const ports = c.ports ?? []
      const gossipPort = portOf(config.gossip!.listen)
      t.ok(ports.some((p) => p.containerPort === gossipPort && p.protocol === 'UDP'), `${what}: gossip UDP port`)
      t.ok(ports.some((p) => p.containerPort === gossipPort && p.protocol === 'TCP'), `${what}: gossip TCP port`)
      if (config.inbound) t.ok(ports.some((p) => p.containerPort === portOf(config.inbound!.listen)), `${what}: inbound port`)
      const tlsMount = (c.volumeMounts ?? []).find((m) => m.mountPath === '/etc/commy/tls')
      t.equal(Boolean(tlsMount), Boolean(config.tls), `${what}: the certificates are mounted where COMMY_TLS_DIR points`)
      t.ok((c.env ?? []).some((e) => e.name === 'COMMY_TLS_DIR' && e.value === '/etc/commy/tls'))
      const sc = c.securityContext as Obj
      t.match(sc, { runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' } })
      t.ok(((c.resources as Obj).requests as Obj).memory && ((c.resources as Obj).limits as Obj).memory, `${what}: memory requested and limited`)
      const drainS = (config.limits.drainGraceMs + config.limits.drainTimeoutMs) / 1000
      t.ok(Number(spec.terminationGracePeriodSeconds) >= drainS + 10, `${what}: the grace period covers commy's drain (${drainS} s) and more`)
      t.equal(labels['commy.dev/mesh'], 'true', `${what}: labelled into the mesh`)
      if (service) {
        t.match(labels, (service.spec as Obj).selector, `${what}: selected by the gossip Service`)
      }
    }
    if (service) {
      const s = service.spec as Obj
      t.equal(s.clusterIP, 'None', `${name}: the gossip Service is headless`)
      t.equal(s.publishNotReadyAddresses, true, `${name}: lists pods that are not Ready yet (no fresh-mesh deadlock)`)
      t.same(
        (s.ports as Obj[]).map((p) => `${String(p.port)}/${String(p.protocol)}`),
        ['7946/UDP', '7946/TCP'],
      )
    }
    if (policy) {
      const rules = (policy.spec as Obj).ingress as Obj[]
      const meshPorts = (rules[0]!.ports as Obj[]).map((p) => `${String(p.port)}/${String(p.protocol)}`)
      t.same(meshPorts, ['7946/UDP', '7946/TCP', '15006/TCP'], `${name}: gossip and inbound open between meshed pods`)
      t.same(rules[1]!.ports, [{ port: 4191, protocol: 'TCP' }], `${name}: the probe port open to the kubelet and Prometheus`)
    }
  }
})

t.test("the base Deployment's sidecar is the one commy inject writes", async (t) => {
  const file = join(K8S, 'base/deployment.yaml')
  const text = readFileSync(file, 'utf8')
  const deployment = rendered.get('base')!.resources.find((x) => x.resource.kind === 'Deployment')!.resource
  const spec = podTemplate(deployment)!.spec as Obj
  const options = { ...DEFAULT_INJECT_OPTIONS, image: 'commy' }
  t.same((spec.initContainers as Obj[])[0], commyContainer(options))
  t.same(spec.volumes, commyVolumes(options))
  const again = inject(text, options)
  t.same(again.reports, [{ resource: 'Deployment/users', document: 1, outcome: 'unchanged' }])
  t.equal(again.output, text, 'injecting into it changes nothing')
})
