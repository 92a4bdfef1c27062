/**
 * Dependency rules of commy's src/, checked by `npm run deps` (part of `npm test`).
 * Type-only imports count (tsPreCompilationDeps): a type import is still an arrow a reader follows.
 *
 * 1. No import cycle between files.
 * 2. Folders are layered; a folder imports only folders of a lower layer (so no cycle between
 *    folders either). Lowest first:
 *      base       errors.ts clock.ts lifecycle.ts listeners.ts ticker.ts (no commy imports but each other)
 *      config     config/ log.ts log-*.ts
 *      leaves     endpoint/ membership/ tls/      (membership: no HTTP; endpoint: no I/O; tls: mesh identities, certificates)
 *      mechanisms balancer/ pipeline/             (balancers never see transports)
 *                 transport/ health/ resilience/  (each wraps or feeds the pipeline)
 *                 discovery/                      (registry: discovery + health verdicts)
 *      data plane proxy/ -> sidecar.ts            (the request path and its composition root)
 *      plugins    plugins/ -> admin/              (wire mechanisms into the Runtime; admin only reads)
 *                 tracing/                        (spans from finished requests; the proxy knows only proxy/trace.ts)
 *      process    runtime.ts demo/ deploy/ main.ts index.ts  (deploy/: commy inject, Kubernetes manifests)
 * 3. src/ never imports a devDependency.
 * The why is in ARCHITECTURE.md ("Dependency rules").
 */
const base = '(errors|clock|lifecycle|listeners|ticker)\\.ts$'
const cfg = `(config/|(log|log-text|log-levels)\\.ts$|${base})`
const leaves = `(endpoint/|membership/|tls/|${cfg})`
/** `src/(a|b|...)` as an anchored path pattern. */
const under = (alternatives) => `^src/${alternatives}`

/** from folder -> what it may import inside src/ (besides itself). */
const layers = [
  ['(errors|clock|lifecycle)\\.ts$', base],
  ['(listeners|ticker)\\.ts$', base],
  ['config/', base],
  ['(log|log-text|log-levels)\\.ts$', cfg],
  ['endpoint/', cfg],
  ['membership/', cfg],
  ['tls/', cfg],
  ['balancer/', leaves],
  ['pipeline/', leaves],
  ['transport/', `(pipeline/|${leaves})`],
  ['health/', `(pipeline/|${leaves})`],
  ['resilience/', `(pipeline/|${leaves})`],
  ['discovery/', `(health/|pipeline/|${leaves})`],
  ['proxy/', `(transport/|balancer/|pipeline/|${leaves})`],
  ['sidecar\\.ts$', `(proxy/|discovery/|health/|transport/|balancer/|pipeline/|${leaves})`],
  ['plugins/', `(proxy/|discovery/|health/|resilience/|transport/|balancer/|pipeline/|${leaves})`],
  ['admin/', `(plugins/|proxy/|discovery/|health/|resilience/|balancer/|pipeline/|${leaves})`],
  ['tracing/', `(proxy/|resilience/|pipeline/|${leaves})`],
  ['(runtime|index|main)\\.ts$|demo/|deploy/', '.'],
]

module.exports = {
  forbidden: [
    {
      name: 'no-cycle',
      comment: 'Files import each other (type imports included): move the shared part to a lower module.',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'no-dev-dependency',
      comment: 'src/ ships to users: it cannot import a devDependency.',
      severity: 'error',
      from: { path: '^src/' },
      to: { dependencyTypes: ['npm-dev'] },
    },
    {
      name: 'membership-no-http',
      comment: 'membership/ is a leaf: SWIM knows nothing about HTTP.',
      severity: 'error',
      from: { path: '^src/membership/' },
      to: { path: '^(http|https|http2)$|node_modules/(undici|http-proxy)/' },
    },
    ...layers.map(([from, allowed]) => ({
      name: `layer ${from.replace(/\\/g, '')}`,
      comment: `src/${from.replace(/\\/g, '')} may import inside src/ only itself and a lower layer (${allowed.replace(/\\/g, '')}): this arrow points up or sideways`,
      severity: 'error',
      from: { path: under(`(${from})`) },
      to: { path: '^src/', pathNot: under(`(${from}|${allowed})`) },
    })),
  ],
  options: {
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
}
