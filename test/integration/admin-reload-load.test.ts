/**
 * Reload under load: steady concurrent traffic through a running commy while its config file is
 * rewritten and reloaded through POST /v1/reload 20 times, alternating two valid configs that
 * route to different upstream sets, plus one invalid file in the middle. Zero failed requests;
 * the invalid file is refused (422, commy_config_reloads_total{result="failure"} = 1, the last
 * good config keeps serving); every request that ran wholly between two reloads was served by
 * the upstream set of the config active then. The issue asks for 30 s of load; the suite runs
 * 12 s (COMMY_RELOAD_LOAD_MS=30000 for the full length).
 */
import t from 'tap'
import { Pool } from 'undici'
import { parseProm, total } from '../helpers/prom-parse.js'
import { adminCall, startRuntime, sleep } from '../helpers/admin-runtime.js'
import { startUpstream, type Handler, type Upstream } from '../helpers/upstream.js'

const DURATION_MS = Number(process.env.COMMY_RELOAD_LOAD_MS ?? 12_000)
const RELOADS = 20
const CONCURRENCY = 12

const named: Handler = (req, res, up) => {
  req.resume()
  req.on('end', () => res.writeHead(200, { 'x-upstream': up.name }).end(up.name))
}

function config(set: readonly Upstream[], generation: number): string {
  return `# generation ${generation}
node: { name: reloader }
admin: { listen: "127.0.0.1:0" }
log: { level: warn, accessLog: false }
limits: { drainGrace: 0s }
listeners:
  - name: outbound
    listen: 127.0.0.1:0
    routes: [{ name: all, match: { pathPrefix: / }, service: api }]
services:
  api:
    strategy: round-robin
    endpoints: [${set.map((u) => `{ address: "${u.address}" }`).join(', ')}]
`
}

const INVALID = `listeners:
  - name: outbound
    listen: 127.0.0.1:0
    routes: [{ match: { pathPrefix: / }, service: api }]
services:
  api:
    endpoints: [{ address: "not an address" }]
`

interface Sample {
  readonly start: number
  end: number
  upstream: string
  status: number
  error: string | undefined
}

t.test(`reload under load: ${RELOADS} reloads + 1 invalid in ${DURATION_MS / 1000} s, zero failures, traffic follows the config`, async (t) => {
  const setA = [await startUpstream('a1', named), await startUpstream('a2', named)]
  const setB = [await startUpstream('b1', named), await startUpstream('b2', named)]
  t.teardown(() => Promise.all([...setA, ...setB].map((u) => u.close())))
  const rt = await startRuntime(config(setA, 0))
  t.teardown(() => rt.stop())
  const admin = rt.admin()
  const pool = new Pool(`http://127.0.0.1:${rt.port()}`, { connections: CONCURRENCY })
  t.teardown(() => pool.destroy())

  const samples: Sample[] = []
  let stop = false
  const worker = async () => {
    while (!stop) {
      const s: Sample = { start: performance.now(), end: 0, upstream: '', status: 0, error: undefined }
      samples.push(s)
      try {
        const r = await pool.request({ method: 'GET', path: '/work', headersTimeout: 10_000, bodyTimeout: 10_000 })
        s.status = r.statusCode
        s.upstream = await r.body.text()
      } catch (err) {
        s.error = (err as Error).message
      }
      s.end = performance.now()
    }
  }
  const workers = Array.from({ length: CONCURRENCY }, worker)

  /** [from, to) windows during which one config was surely active, with its upstream names. */
  const windows: { from: number; to: number; names: Set<string>; generation: number }[] = []
  let activeFrom = performance.now()
  let active = { names: new Set(setA.map((u) => u.name)), generation: 0 }
  const period = DURATION_MS / (RELOADS + 2)
  let refused = 0
  for (let i = 1; i <= RELOADS + 1; i++) {
    await sleep(period)
    const invalid = i === Math.ceil((RELOADS + 1) / 2)
    const generation = invalid ? active.generation : active.generation + 1
    const set = generation % 2 === 0 ? setA : setB
    const issued = performance.now()
    rt.write(invalid ? INVALID : config(set, generation))
    const r = await adminCall(admin, '/v1/reload', { method: 'POST' })
    const done = performance.now()
    if (invalid) {
      t.equal(r.status, 422, 'the invalid config is refused')
      t.match(r.body, { ok: false, code: 'COMMY_ERR_ADMIN_RELOAD_REFUSED' })
      t.match(r.body.message, /sidecar\.yaml:7/, 'with its file:line')
      refused++
      continue // the previous config keeps serving: its window goes on
    }
    t.equal(r.status, 200, `reload ${generation} accepted`)
    windows.push({ from: activeFrom, to: issued, ...active })
    active = { names: new Set(set.map((u) => u.name)), generation }
    activeFrom = done
  }
  await sleep(period)
  windows.push({ from: activeFrom, to: performance.now(), ...active })
  stop = true
  await Promise.all(workers)

  const failed = samples.filter((s) => s.error !== undefined || s.status !== 200)
  t.same(failed.slice(0, 5), [], `zero failed requests (of ${samples.length})`)
  t.equal(failed.length, 0)
  t.ok(samples.length > 200, `enough load: ${samples.length} requests`)
  t.equal(refused, 1)
  t.equal(windows.length, RELOADS + 1)

  let checked = 0
  const strays: string[] = []
  for (const w of windows) {
    const inside = samples.filter((s) => s.start >= w.from && s.end <= w.to)
    checked += inside.length
    const wrong = inside.filter((s) => !w.names.has(s.upstream))
    if (wrong.length > 0) strays.push(`generation ${w.generation}: ${wrong.length} of ${inside.length} went to ${wrong[0]!.upstream}`)
    if (inside.length === 0) strays.push(`generation ${w.generation}: no request ran wholly inside its window`)
  }
  t.same(strays, [], 'every request between two reloads went to the active config’s upstreams')
  t.ok(checked > samples.length / 2, `${checked} requests checked against their config`)
  for (const u of [...setA, ...setB]) t.ok(u.seen.length > 0, `${u.name} served`)

  const fams = parseProm((await adminCall(admin, '/metrics')).text)
  t.equal(total(fams, 'commy_config_reloads_total', { result: 'success' }), RELOADS)
  t.equal(total(fams, 'commy_config_reloads_total', { result: 'failure' }), 1)
  t.equal(total(fams, 'commy_request_duration_seconds_count', { route: 'all' }), samples.length, 'every request counted')
  t.equal(total(fams, 'commy_requests_total', { code_class: '5xx' }) + total(fams, 'commy_requests_total', { code_class: 'error' }), 0)
})
