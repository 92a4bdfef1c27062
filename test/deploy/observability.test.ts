/**
 * deploy/observability/: the Prometheus alerting rules pass `promtool check rules` and their unit
 * tests (`promtool test rules`), the scrape example passes `promtool check config`, the Grafana
 * dashboard is importable (a datasource variable, unique ids, a 24-column grid without overlaps),
 * and every metric the dashboard and the rules read is one a running sidecar exposes on /metrics.
 *
 * promtool is Debian's `prometheus` package (.ci/run installs it). Without it the promtool parts
 * are skipped, saying so, except under CI (CI or COMMY_CI set, as .ci/run does), where that is a failure.
 */
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ROOT } from '../helpers/cli.js'
import { tempDir } from '../helpers/temp.js'
import { adminCall, startRuntime } from '../helpers/admin-runtime.js'
import { parseProm } from '../helpers/prom-parse.js'
import { request, startUpstream } from '../helpers/upstream.js'

const DIR = join(ROOT, 'deploy/observability')
const RULES = join(DIR, 'prometheus-rules.yaml')
const RULE_TESTS = join(DIR, 'prometheus-rules.test.yaml')
const SCRAPE = join(DIR, 'prometheus-scrape.yaml')
const DASHBOARD = join(DIR, 'grafana-dashboard.json')

const hasPromtool = spawnSync('promtool', ['--version'], { encoding: 'utf8' }).status === 0
const inCi = Boolean(process.env.CI || process.env.COMMY_CI)
const noPromtool = hasPromtool ? false : inCi ? false : 'promtool is missing (apt-get install -y prometheus); promtool checks skipped'

function promtool(t: { fail(message: string): void }, args: string[], cwd = DIR): { status: number | null; out: string } {
  if (!hasPromtool) {
    t.fail('promtool is missing under CI: .ci/run installs Debian\'s prometheus package')
    return { status: null, out: '' }
  }
  const r = spawnSync('promtool', args, { cwd, encoding: 'utf8', timeout: 30_000 })
  return { status: r.status, out: `${r.stdout}${r.stderr}` }
}

t.test('promtool check rules', { skip: noPromtool }, async (t) => {
  const r = promtool(t, ['check', 'rules', RULES])
  t.equal(r.status, 0, r.out)
  t.match(r.out, /SUCCESS: \d+ rules found/)
})

t.test('promtool test rules: each alert fires on the series it is about, and only then', { skip: noPromtool }, async (t) => {
  const r = promtool(t, ['test', 'rules', RULE_TESTS])
  t.equal(r.status, 0, r.out)
  t.match(r.out, /SUCCESS/)
})

t.test('promtool check config: the scrape example', { skip: noPromtool }, async (t) => {
  let r = promtool(t, ['check', 'config', SCRAPE])
  if (r.status !== 0 && /field kubernetes_sd_configs not found/.test(r.out)) {
    // Debian builds Prometheus without Kubernetes discovery: check everything else (the relabeling
    // included) on a copy whose pod discovery is a static target
    t.comment('this promtool has no Kubernetes discovery (Debian build): checking the pod job with a static target instead')
    const dir = tempDir('commy-scrape-')
    copyFileSync(RULES, join(dir, 'prometheus-rules.yaml'))
    const text = readFileSync(SCRAPE, 'utf8').replace('kubernetes_sd_configs:\n      - role: pod', 'static_configs:\n      - targets: ["10.1.0.1:4191"]')
    t.not(text, readFileSync(SCRAPE, 'utf8'), 'the pod discovery was replaced')
    writeFileSync(join(dir, 'prometheus-scrape.yaml'), text)
    r = promtool(t, ['check', 'config', join(dir, 'prometheus-scrape.yaml')], dir)
  }
  t.equal(r.status, 0, r.out)
  t.match(r.out, /valid prometheus config file syntax/)
})

interface Target {
  readonly expr?: string
  readonly refId?: string
  readonly datasource?: { readonly type?: string; readonly uid?: string }
}
interface Panel {
  readonly id: number
  readonly type: string
  readonly title: string
  readonly description?: string
  readonly gridPos: { readonly x: number; readonly y: number; readonly w: number; readonly h: number }
  readonly datasource?: { readonly type?: string; readonly uid?: string }
  readonly targets?: readonly Target[]
}
interface Dashboard {
  readonly uid: string
  readonly title: string
  readonly schemaVersion: number
  readonly panels: readonly Panel[]
  readonly templating: { readonly list: readonly { name: string; type: string; query: unknown; datasource?: { uid?: string } }[] }
  readonly annotations: { readonly list: readonly { expr?: string; datasource?: { uid?: string } }[] }
}

const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard

t.test('grafana dashboard: importable, on a datasource variable, every topic of the issue', async (t) => {
  t.type(dashboard.uid, 'string')
  t.ok(dashboard.schemaVersion >= 36, 'a current schema')
  const ds = dashboard.templating.list.find((v) => v.type === 'datasource')
  t.same(ds && { name: ds.name, query: ds.query }, { name: 'datasource', query: 'prometheus' }, 'a Prometheus datasource variable')
  const queries = dashboard.panels.filter((p) => p.type !== 'row')
  const problems: string[] = []
  for (const p of queries) {
    if (p.datasource?.uid !== '${datasource}') problems.push(`${p.title}: panel datasource ${JSON.stringify(p.datasource)}`)
    if (!p.description) problems.push(`${p.title}: no description`)
    if (!p.targets || p.targets.length === 0) problems.push(`${p.title}: no query`)
    const refs = new Set<string>()
    for (const q of p.targets ?? []) {
      if (q.datasource?.uid !== '${datasource}') problems.push(`${p.title} ${q.refId}: datasource ${JSON.stringify(q.datasource)}`)
      if (!q.expr) problems.push(`${p.title} ${q.refId}: no PromQL`)
      if (refs.has(q.refId ?? '')) problems.push(`${p.title}: refId ${q.refId} twice`)
      refs.add(q.refId ?? '')
    }
  }
  for (const v of dashboard.templating.list) {
    if (v.type === 'query' && v.datasource?.uid !== '${datasource}') problems.push(`variable ${v.name}: datasource ${JSON.stringify(v.datasource)}`)
  }
  const ids = dashboard.panels.map((p) => p.id)
  if (new Set(ids).size !== ids.length) problems.push(`panel ids repeat: ${ids.join(',')}`)
  const cells = new Map<string, string>()
  for (const p of dashboard.panels) {
    const g = p.gridPos
    if (!(g.x >= 0 && g.w > 0 && g.x + g.w <= 24 && g.h > 0)) problems.push(`${p.title}: outside the 24-column grid`)
    for (let x = g.x; x < g.x + g.w; x++) {
      for (let y = g.y; y < g.y + g.h; y++) {
        const k = `${x},${y}`
        const other = cells.get(k)
        if (other !== undefined) problems.push(`${p.title} overlaps ${other} at ${k}`)
        cells.set(k, p.title)
      }
    }
  }
  t.same([...new Set(problems)], [], `${queries.length} panels read the datasource variable, are described, have unique ids and do not overlap`)

  const titles = queries.map((p) => p.title).join('\n')
  for (const topic of [
    /^Success rate$/m,
    /^Requests \/ s/m,
    /Latency p50 \/ p99 by service/,
    /Latency p50 \/ p99 by route/,
    /Tries by outcome per endpoint/,
    /Breaker state/,
    /Endpoints by state/,
    /Gossip members/,
    /Connections/,
    /Config reload/,
    /Certificate expiry/,
  ]) {
    t.match(titles, topic, `a panel for ${topic.source}`)
  }
  t.equal(queries[0]?.title, 'Success rate', 'success rate first')
})

/** The metric names a PromQL expression reads (commy's own; `up` is Prometheus'). */
function metricNames(expr: string): string[] {
  const noStrings = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""')
  return [...noStrings.matchAll(/\bcommy_[a-zA-Z0-9_:]*/g)].map((m) => m[0])
}

function dashboardExprs(): { where: string; expr: string }[] {
  const out: { where: string; expr: string }[] = []
  for (const p of dashboard.panels) for (const q of p.targets ?? []) if (q.expr) out.push({ where: `panel "${p.title}" ${q.refId}`, expr: q.expr })
  for (const a of dashboard.annotations.list) if (a.expr) out.push({ where: 'annotation', expr: a.expr })
  for (const v of dashboard.templating.list) if (typeof v.query === 'string' && v.type === 'query') out.push({ where: `variable ${v.name}`, expr: v.query })
  for (const v of dashboard.templating.list) {
    const q = v.query as { query?: unknown } | null
    if (q && typeof q === 'object' && typeof q.query === 'string') out.push({ where: `variable ${v.name}`, expr: q.query })
  }
  return out
}

function ruleExprs(): { where: string; expr: string }[] {
  // the rules file is YAML; `expr:` values are either one line or a `|` block
  const out: { where: string; expr: string }[] = []
  const lines = readFileSync(RULES, 'utf8').split('\n')
  let alert = ''
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!
    const a = /^\s*- alert: (\S+)/.exec(line)
    if (a) alert = a[1]!
    const e = /^(\s*)expr: (.*)$/.exec(line)
    if (!e) continue
    if (e[2] !== '|') {
      out.push({ where: `rule ${alert}`, expr: e[2]! })
      continue
    }
    const indent = e[1]!.length
    const body: string[] = []
    while (i + 1 < lines.length && (lines[i + 1]!.trim() === '' || lines[i + 1]!.search(/\S/) > indent)) body.push(lines[++i]!)
    out.push({ where: `rule ${alert}`, expr: body.join('\n') })
  }
  return out
}

t.test('every metric the dashboard and the alert rules read is exposed by a running sidecar', async (t) => {
  const up = await startUpstream('api')
  t.teardown(() => up.close())
  const r = await startRuntime(`
node: { name: observability-node }
admin: { listen: "127.0.0.1:0" }
log: { level: warn, accessLog: false }
limits: { drainGrace: 50ms, drainTimeout: 1s }
listeners:
  - name: outbound
    listen: 127.0.0.1:0
    routes: [{ name: all, match: { pathPrefix: / }, service: api }]
services:
  api:
    endpoints: [{ address: "127.0.0.1:${up.port}" }]
`)
  t.teardown(() => r.stop())
  const reply = await request(r.runtime.sidecar.address().port, { path: '/hello' })
  t.equal(reply.status, 200, 'one request through, so per-route series exist too')
  const m = await adminCall(r.admin(), '/metrics')
  t.equal(m.status, 200)
  const families = parseProm(m.text)
  const exposed = new Set<string>()
  for (const f of families.values()) {
    exposed.add(f.name)
    for (const s of f.samples) exposed.add(s.name)
    if (f.type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) exposed.add(f.name + suffix)
  }

  const uses = [...dashboardExprs(), ...ruleExprs()]
  t.ok(uses.length > 20, `${uses.length} expressions read`)
  const missing: string[] = []
  const used = new Set<string>()
  for (const { where, expr } of uses) {
    for (const name of metricNames(expr)) {
      used.add(name)
      if (!exposed.has(name)) missing.push(`${name} (${where})`)
    }
  }
  t.same([...new Set(missing)], [], 'no metric name that /metrics does not have')
  t.ok(used.size >= 15, `${used.size} distinct commy metrics used`)
})
