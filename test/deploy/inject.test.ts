/**
 * `commy inject` as a function from YAML text to YAML text: every workload kind, Lists and
 * multi-document streams, pass-through, comments, idempotence, upgrades, skips and errors.
 * Outputs are checked against Kubernetes' schemas (kubernetes-models).
 */
import t from 'tap'
import { inject } from '../../src/deploy/inject.js'
import { parseInjectArgs } from '../../src/deploy/inject-args.js'
import { InjectError } from '../../src/errors.js'
import { DEFAULT_INJECT_OPTIONS, type InjectOptions } from '../../src/deploy/sidecar-spec.js'
import { parseStream, podTemplate, validateResource, type Obj } from '../helpers/k8s.js'

const OPTIONS: InjectOptions = { ...DEFAULT_INJECT_OPTIONS, image: 'registry.example.com/commy:0.1.0' }

const POD_SPEC = `
      containers:
        - name: app
          image: example/app:1
          ports: [{ containerPort: 8080 }]`

/** One workload of `kind` named `name`, its pod spec indented for a template. */
function workload(kind: string, name = 'app'): string {
  const head = (apiVersion: string) => `apiVersion: ${apiVersion}\nkind: ${kind}\nmetadata:\n  name: ${name}\n`
  const template = (indent: string) =>
    `${indent}template:\n${indent}  metadata:\n${indent}    labels: { app: ${name} }\n${indent}  spec:${POD_SPEC.replace(/\n {6}/g, `\n${indent}    `)}\n`
  switch (kind) {
    case 'Pod':
      return `${head('v1')}spec:${POD_SPEC.replace(/\n {6}/g, '\n  ')}\n`
    case 'Deployment':
    case 'StatefulSet':
    case 'DaemonSet':
    case 'ReplicaSet':
      return `${head('apps/v1')}spec:\n  selector: { matchLabels: { app: ${name} } }\n${template('  ')}`
    case 'ReplicationController':
      return `${head('v1')}spec:\n${template('  ')}`
    case 'Job':
      return `${head('batch/v1')}spec:\n${template('  ')}`.replace(/(\n {4}spec:\n)/, '$1      restartPolicy: Never\n')
    case 'CronJob':
      return `${head('batch/v1')}spec:\n  schedule: "*/5 * * * *"\n  jobTemplate:\n    spec:\n${template('      ')}`.replace(
        /(\n {8}spec:\n)/,
        '$1          restartPolicy: OnFailure\n',
      )
    default:
      throw new Error(kind)
  }
}

function podSpecOf(resource: Obj): Obj {
  return podTemplate(resource)!.spec as Obj
}

function injectError(fn: () => unknown): InjectError {
  try {
    fn()
  } catch (err) {
    if (err instanceof InjectError) return err
    throw err
  }
  throw new Error('no InjectError thrown')
}

t.test('every workload kind gets the native sidecar, its volumes, the mesh label and scrape annotations', async (t) => {
  for (const kind of ['Pod', 'Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'ReplicationController', 'Job', 'CronJob']) {
    const source = workload(kind)
    t.doesNotThrow(() => validateResource(parseStream(source)[0]!), `${kind}: the fixture is valid`)
    const { output, reports } = inject(source, OPTIONS)
    t.same(reports, [{ resource: `${kind}/app`, document: 1, outcome: 'injected' }], kind)
    const [resource] = parseStream(output)
    t.doesNotThrow(() => validateResource(resource!), `${kind}: the output passes the Kubernetes schema`)
    const spec = podSpecOf(resource!)
    const [commy] = spec.initContainers as Obj[]
    t.match(commy, { name: 'commy', image: OPTIONS.image, restartPolicy: 'Always' }, `${kind}: commy is a native sidecar`)
    t.same((spec.containers as Obj[]).map((c) => c.name), ['app'], `${kind}: the app container is untouched`)
    t.same((spec.volumes as Obj[]).map((v) => v.name), ['commy-config', 'commy-tls'])
    t.equal(spec.terminationGracePeriodSeconds, 60)
    const meta = podTemplate(resource!)!.metadata as Obj
    t.match(meta.labels, { 'commy.dev/mesh': 'true' })
    t.match(meta.annotations, { 'prometheus.io/scrape': 'true', 'prometheus.io/port': '4191', 'prometheus.io/path': '/metrics' })
  }
})

t.test('a stream: other resources, comments and separators pass through byte for byte, in order', async (t) => {
  const service = '# the service\napiVersion: v1\nkind: Service\nmetadata: { name: app }   # odd  spacing kept\nspec:\n  ports: [ {port: 80} ]\n'
  const source = `${service}---\n${workload('Deployment')}---\n# a comment-only document\n...\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: { name: c }\ndata: { a: "1" }\n`
  const { output, reports } = inject(source, OPTIONS)
  t.same(reports.map((r) => r.resource), ['Deployment/app'])
  t.ok(output.startsWith(`${service}---\n`), 'the Service document is written back as it was')
  t.ok(output.endsWith('---\n# a comment-only document\n...\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: { name: c }\ndata: { a: "1" }\n'))
  t.same(parseStream(output).map((o) => o.kind), ['Service', 'Deployment', 'ConfigMap'])
})

t.test('comments and key order of a changed document are kept', async (t) => {
  const source = `# users: the user service
apiVersion: apps/v1
kind: Deployment
metadata:
  name: users # owned by team A
spec:
  replicas: 2 # two is enough
  selector:
    matchLabels: { app: users }
  template:
    metadata:
      labels: { app: users }
    spec:
      # keep this one first
      containers:
      - name: users   # the app
        image: users:1
`
  const { output } = inject(source, OPTIONS)
  for (const comment of ['# users: the user service', '# owned by team A', '# two is enough', '# keep this one first', '# the app']) {
    t.ok(output.includes(comment), `kept: ${comment}`)
  }
  t.ok(output.indexOf('initContainers:') < output.indexOf('containers:\n      - name: users'), 'initContainers written before containers')
  t.match(output, /\n {6}containers:\n {6}- name: users/, 'a list flush with its key keeps that style')
  t.ok(output.indexOf('replicas') < output.indexOf('selector') && output.indexOf('selector') < output.indexOf('template'), 'key order kept')
})

t.test('injecting twice gives the same output; a new image upgrades the sidecar in place', async (t) => {
  const source = [workload('Deployment', 'a'), workload('CronJob', 'b'), workload('Pod', 'c')].join('---\n')
  const once = inject(source, OPTIONS)
  const twice = inject(once.output, OPTIONS)
  t.equal(twice.output, once.output)
  t.same(twice.reports.map((r) => r.outcome), ['unchanged', 'unchanged', 'unchanged'])

  const upgraded = inject(once.output, { ...OPTIONS, image: 'registry.example.com/commy:0.2.0' })
  t.same(upgraded.reports.map((r) => r.outcome), ['injected', 'injected', 'injected'])
  const [before, after] = [parseStream(once.output), parseStream(upgraded.output)]
  for (let i = 0; i < 3; i++) {
    const inits = podSpecOf(after[i]!).initContainers as Obj[]
    t.equal(inits.length, 1, 'still one commy container')
    t.equal(inits[0]!.image, 'registry.example.com/commy:0.2.0')
    t.same({ ...inits[0], image: undefined }, { ...(podSpecOf(before[i]!).initContainers as Obj[])[0], image: undefined }, 'only the image changed')
  }
})

t.test('a List and its items', async (t) => {
  const source = `apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Service
    metadata: { name: s }
    spec: { ports: [{ port: 80 }] }
  - apiVersion: apps/v1
    kind: Deployment
    metadata: { name: d }
    spec:
      selector: { matchLabels: { app: d } }
      template:
        metadata: { labels: { app: d } }
        spec:
          containers: [{ name: d, image: d:1 }]
`
  const { output, reports } = inject(source, OPTIONS)
  t.same(reports, [{ resource: 'List items[1] Deployment/d', document: 1, outcome: 'injected' }])
  const [list] = parseStream(output)
  t.doesNotThrow(() => validateResource(list!))
  const items = list!.items as Obj[]
  t.same(items[0], { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { ports: [{ port: 80 }] } })
  t.equal(((podSpecOf(items[1]!).initContainers as Obj[])[0]!).name, 'commy')
  t.equal(inject(output, OPTIONS).output, output, 'idempotent')
})

t.test('an existing pod: other init containers kept after commy, an old-style commy container moved', async (t) => {
  const source = `apiVersion: v1
kind: Pod
metadata:
  name: p
  annotations: { prometheus.io/scrape: "true", prometheus.io/port: "9090" }
spec:
  terminationGracePeriodSeconds: 90
  initContainers:
    - { name: migrate, image: migrate:1 }
  containers:
    - { name: app, image: app:1 }
    - { name: commy, image: commy:0.0.9, args: [--config, /etc/commy/sidecar.yaml] }
  volumes:
    - { name: data, emptyDir: {} }
    - { name: commy-config, configMap: { name: users-commy } }
`
  const [pod] = parseStream(inject(source, { ...OPTIONS, configMap: 'users-commy-v2' }).output)
  t.doesNotThrow(() => validateResource(pod!))
  const spec = pod!.spec as Obj
  t.same((spec.initContainers as Obj[]).map((c) => c.name), ['commy', 'migrate'], 'commy first: later init containers can use it')
  t.same((spec.containers as Obj[]).map((c) => c.name), ['app'], 'the old sidecar left containers')
  t.same(spec.volumes, [
    { name: 'data', emptyDir: {} },
    { name: 'commy-config', configMap: { name: 'users-commy-v2' } },
    { name: 'commy-tls', secret: { secretName: 'commy-tls', defaultMode: 0o444 } },
  ])
  t.equal(spec.terminationGracePeriodSeconds, 90, 'a longer grace period is kept')
  t.same((pod!.metadata as Obj).annotations, { 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9090' }, "the app's own scrape annotations are kept")
})

t.test('--no-tls and custom names', async (t) => {
  const options: InjectOptions = { ...OPTIONS, tlsSecret: undefined, secrets: 'mesh-keys', gossipService: 'gossip', clusterDomain: 'k8s.internal' }
  const [pod] = parseStream(inject(workload('Pod'), options).output)
  const spec = pod!.spec as Obj
  const commy = (spec.initContainers as Obj[])[0]!
  t.same((spec.volumes as Obj[]).map((v) => v.name), ['commy-config'])
  t.same((commy.volumeMounts as Obj[]).map((m) => m.name), ['commy-config'])
  t.notOk((commy.ports as Obj[]).some((p) => p.containerPort === 15006), 'no inbound port without mTLS')
  const env = commy.env as Obj[]
  t.notOk(env.some((e) => e.name === 'COMMY_TLS_DIR'))
  t.match(env, [{}, {}, {}, {}, { name: 'COMMY_GOSSIP_SEED', value: 'gossip.$(POD_NAMESPACE).svc.k8s.internal:7946' }, { valueFrom: { secretKeyRef: { name: 'mesh-keys', key: 'gossip-key' } } }])
})

t.test('skipped and written back unchanged: hostNetwork pods, commy.dev/inject: disabled', async (t) => {
  const hostNet = workload('DaemonSet').replace('  spec:\n      containers', '  spec:\n      hostNetwork: true\n      containers')
  t.match(hostNet, /hostNetwork: true/)
  const disabled = workload('Deployment').replace('metadata:\n  name: app\n', 'metadata:\n  name: app\n  annotations: { commy.dev/inject: disabled }\n')
  const source = `${hostNet}---\n${disabled}`
  const { output, reports } = inject(source, OPTIONS)
  t.equal(output, source)
  t.match(reports, [
    { resource: 'DaemonSet/app', outcome: 'skipped', reason: /hostNetwork/ },
    { resource: 'Deployment/app', outcome: 'skipped', reason: 'commy.dev/inject: disabled' },
  ])
})

t.test('errors name the document and the reason', async (t) => {
  const cases: [string, string, RegExp][] = [
    ['not YAML', `${workload('Pod')}---\nkind: [unclosed\n`, /^document 2: YAML: /],
    ['no pod template', 'apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: d }\nspec: { replicas: 1 }\n', /^document 1 \(Deployment\/d\): spec\.template is missing or not a mapping$/],
    ['no pod spec', 'apiVersion: batch/v1\nkind: Job\nmetadata: { name: j }\nspec: { template: { metadata: {} } }\n', /^document 1 \(Job\/j\): spec\.template\.spec is missing/],
    ['containers not a list', 'apiVersion: v1\nkind: Pod\nmetadata: { name: p }\nspec: { containers: app }\n', /^document 1 \(Pod\/p\): spec\.containers is missing or not a list$/],
    ['a container that is not a mapping', 'apiVersion: v1\nkind: Pod\nmetadata: { name: p }\nspec: { containers: [app] }\n', /^document 1 \(Pod\/p\): spec\.containers\[0\] is not a container/],
    ['volumes not a list', 'apiVersion: v1\nkind: Pod\nmetadata: { name: p }\nspec: { containers: [{ name: a }], volumes: {} }\n', /^document 1 \(Pod\/p\): spec\.volumes is not a list$/],
    [
      'a port commy takes',
      `---\n${workload('StatefulSet', 'db').replace('containerPort: 8080', 'containerPort: 15001')}`,
      /^document 1 \(StatefulSet\/db\): container "app" uses port 15001, which commy takes/,
    ],
    ['List items not a list', 'apiVersion: v1\nkind: List\nitems: { a: 1 }\n', /^document 1 \(List\): items is not a list$/],
    ['a List item that is not a resource', `apiVersion: v1\nkind: List\nitems: [3]\n`, /^document 1 \(List\): items\[0\] is not a resource/],
  ]
  for (const [what, source, message] of cases) {
    const err = injectError(() => inject(source, OPTIONS))
    t.match(err.message, message, what)
    t.equal(err.code, 'COMMY_ERR_INJECT')
  }
})

t.test('arguments: defaults, flags, usage errors', async (t) => {
  t.same(parseInjectArgs(['deploy.yaml'], '1.2.3'), { file: 'deploy.yaml', options: { ...DEFAULT_INJECT_OPTIONS, image: 'commy:1.2.3' } })
  const { file, options } = parseInjectArgs(['-', '--image', 'r.example/commy:2', '--config=users-commy', '--secrets', 's', '--no-tls', '--gossip-service', 'g', '--cluster-domain', 'c.local'], '1')
  t.equal(file, '-')
  t.same(options, { image: 'r.example/commy:2', configMap: 'users-commy', secrets: 's', tlsSecret: undefined, gossipService: 'g', clusterDomain: 'c.local' })
  t.equal(parseInjectArgs(['f', '--tls-secret', 'users-tls'], '1').options.tlsSecret, 'users-tls')
  t.match(injectError(() => parseInjectArgs([], '1')).message, /^usage: commy inject FILE\|-/)
  t.match(injectError(() => parseInjectArgs(['f', '--bogus'], '1')).message, /^unknown option --bogus/)
  t.match(injectError(() => parseInjectArgs(['f', '--config'], '1')).message, /^--config needs a value/)
  t.match(injectError(() => parseInjectArgs(['f', '--config', 'a b'], '1')).message, /^--config needs a value/)
  t.match(injectError(() => parseInjectArgs(['a', 'b'], '1')).message, /^one FILE only/)
})
