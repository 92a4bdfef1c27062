/**
 * What `commy inject` adds to a pod: the commy native sidecar (an init container with
 * `restartPolicy: Always`, Kubernetes >= 1.29), its volumes, the mesh label and the scrape
 * annotations. The same spec as deploy/kubernetes/base/deployment.yaml (a test keeps them equal).
 *
 * Ports and paths here are the ones the ConfigMap's sidecar.yaml uses: probes on 4191 (Linkerd's
 * port), gossip on 7946 (UDP and TCP), the mTLS inbound listener on 15006, the config mounted at
 * /etc/commy/config, the mesh certificates at /etc/commy/tls.
 */

/** Plain JSON, as it goes into a manifest. */
export type Json = string | number | boolean | null | readonly Json[] | { readonly [key: string]: Json }
export type JsonObject = { readonly [key: string]: Json }

export interface InjectOptions {
  /** The commy image (`--image`). */
  readonly image: string
  /** ConfigMap holding sidecar.yaml (`--config`). */
  readonly configMap: string
  /** Secret with `gossip-key` and `admin-token` (`--secrets`). */
  readonly secrets: string
  /** Secret with ca.pem, cert.pem, key.pem (`--tls-secret`); undefined: no mTLS (`--no-tls`). */
  readonly tlsSecret: string | undefined
  /** The headless Service listing the mesh's pods: the gossip seed (`--gossip-service`). */
  readonly gossipService: string
  /** The cluster's DNS domain (`--cluster-domain`). */
  readonly clusterDomain: string
}

export const DEFAULT_INJECT_OPTIONS: Omit<InjectOptions, 'image'> = Object.freeze({
  configMap: 'commy-config',
  secrets: 'commy-secrets',
  tlsSecret: 'commy-tls',
  gossipService: 'commy-gossip',
  clusterDomain: 'cluster.local',
})

export const CONTAINER_NAME = 'commy'
export const MESH_LABEL = 'commy.dev/mesh'
/** `commy.dev/inject: disabled` on a workload or its pod template: left as it is. */
export const INJECT_ANNOTATION = 'commy.dev/inject'
export const CONFIG_VOLUME = 'commy-config'
export const TLS_VOLUME = 'commy-tls'

export const PROBE_PORT = 4191
export const GOSSIP_PORT = 7946
export const INBOUND_PORT = 15006
/** Ports commy takes in the pod's network namespace (admin, outbound, inbound, probes, gossip). */
export const TAKEN_PORTS: ReadonlySet<number> = new Set([15000, 15001, INBOUND_PORT, PROBE_PORT, GOSSIP_PORT])

/** The app's shutdown, then commy's drain (limits.drainGrace 2s + drainTimeout 15s in the ConfigMap). */
export const MIN_TERMINATION_GRACE_SECONDS = 60

/** Annotations set when the pod has none of its own (an app that is scraped already keeps them). */
export const SCRAPE_ANNOTATIONS: JsonObject = Object.freeze({
  'prometheus.io/scrape': 'true',
  'prometheus.io/port': String(PROBE_PORT),
  'prometheus.io/path': '/metrics',
})

const fieldRef = (name: string, fieldPath: string): JsonObject => ({ name, valueFrom: { fieldRef: { fieldPath } } })
const secretRef = (name: string, secret: string, key: string): JsonObject => ({ name, valueFrom: { secretKeyRef: { name: secret, key } } })
const probe = (path: string, extra: JsonObject): JsonObject => ({ httpGet: { path, port: PROBE_PORT }, ...extra })

/** The commy container: an init container that keeps running (a native sidecar). */
export function commyContainer(o: InjectOptions): JsonObject {
  const tls = o.tlsSecret !== undefined
  return {
    name: CONTAINER_NAME,
    image: o.image,
    restartPolicy: 'Always',
    args: ['--config', '/etc/commy/config/sidecar.yaml'],
    env: [
      fieldRef('POD_NAME', 'metadata.name'),
      fieldRef('POD_NAMESPACE', 'metadata.namespace'),
      fieldRef('POD_IP', 'status.podIP'),
      fieldRef('NODE_NAME', 'spec.nodeName'),
      { name: 'COMMY_GOSSIP_SEED', value: `${o.gossipService}.$(POD_NAMESPACE).svc.${o.clusterDomain}:${GOSSIP_PORT}` },
      secretRef('COMMY_GOSSIP_KEY', o.secrets, 'gossip-key'),
      secretRef('COMMY_ADMIN_TOKEN', o.secrets, 'admin-token'),
      ...(tls ? [{ name: 'COMMY_TLS_DIR', value: '/etc/commy/tls' }] : []),
    ],
    ports: [
      { name: 'commy-gossip-u', containerPort: GOSSIP_PORT, protocol: 'UDP' },
      { name: 'commy-gossip-t', containerPort: GOSSIP_PORT, protocol: 'TCP' },
      ...(tls ? [{ name: 'commy-inbound', containerPort: INBOUND_PORT, protocol: 'TCP' }] : []),
      { name: 'commy-probes', containerPort: PROBE_PORT, protocol: 'TCP' },
    ],
    // the app starts when this passes: joined, or a cluster of one after gossip.joinTimeout
    startupProbe: probe('/readyz', { periodSeconds: 1, failureThreshold: 120 }),
    readinessProbe: probe('/readyz', { periodSeconds: 5, failureThreshold: 2 }),
    livenessProbe: probe('/healthz', { periodSeconds: 10, timeoutSeconds: 2, failureThreshold: 3 }),
    resources: {
      requests: { cpu: '50m', memory: '128Mi' },
      limits: { cpu: '1', memory: '256Mi' },
    },
    securityContext: {
      runAsNonRoot: true,
      runAsUser: 65532,
      runAsGroup: 65532,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    },
    volumeMounts: [
      { name: CONFIG_VOLUME, mountPath: '/etc/commy/config', readOnly: true },
      ...(tls ? [{ name: TLS_VOLUME, mountPath: '/etc/commy/tls', readOnly: true }] : []),
    ],
  }
}

/** The volumes the container mounts. */
export function commyVolumes(o: InjectOptions): JsonObject[] {
  return [
    { name: CONFIG_VOLUME, configMap: { name: o.configMap } },
    // 0444: read only by commy (the only container mounting it), which runs as 65532
    ...(o.tlsSecret !== undefined ? [{ name: TLS_VOLUME, secret: { secretName: o.tlsSecret, defaultMode: 0o444 } }] : []),
  ]
}
