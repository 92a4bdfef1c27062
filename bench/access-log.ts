/**
 * Micro: nanoseconds to build one access line — JSON and text, a plain request and a retried one —
 * against a baseline measured in the same run (BENCH_BASELINE_ACCESS_LOG: another build's
 * dist/src/proxy/access-log.js, e.g. the commit before a change; default: none). Interleaved
 * rounds, best round per scenario (interference on a shared machine only slows a round down).
 * Prints a table, then one JSON summary line last.
 * Run: `npm run build && node dist/bench/access-log.js` (BENCH_MS per round, default 300).
 */
import { pathToFileURL } from 'node:url'
import { AccessLineFormat } from '../src/proxy/access-log.js'
import type { RequestRecord } from '../src/proxy/request-record.js'
import { machine } from './lib/machine.js'

const ROUND_MS = Number(process.env.BENCH_MS ?? 300)
const ROUNDS = 5

const plain: RequestRecord = {
  listener: 'outbound',
  method: 'GET',
  path: '/charge/1234',
  route: 'host-payments',
  service: 'payments',
  endpoint: '127.0.0.1:9102',
  status: 200,
  durationMs: 1.84,
  bytesIn: 0,
  bytesOut: 239,
  attempts: 1,
  requestId: '5f1c0a9e2b41-1',
  code: undefined,
  host: 'payments',
  client: '127.0.0.1',
  userAgent: 'curl/8.5.0',
  httpVersion: '1.1',
  tries: [{ endpoint: '127.0.0.1:9102', startedAt: 0, endedAt: 1, status: 200, code: undefined }],
}
const retried: RequestRecord = {
  ...plain,
  attempts: 2,
  tries: [
    { endpoint: '127.0.0.1:9104', startedAt: 0, endedAt: 1, status: undefined, code: 'COMMY_ERR_UPSTREAM_CONNECT' },
    { endpoint: '127.0.0.1:9102', startedAt: 1, endedAt: 2, status: 200, code: undefined },
  ],
}

type Line = (r: RequestRecord, time: number) => string

async function scenarios(): Promise<[string, Line, RequestRecord][]> {
  const f = new AccessLineFormat({ node: 'users-sidecar' })
  const list: [string, Line, RequestRecord][] = [
    ['json', (r, t) => f.line(r, t), plain],
    ['json-retried', (r, t) => f.line(r, t), retried],
    ['text', (r, t) => f.text(r, t), plain],
  ]
  const base = process.env.BENCH_BASELINE_ACCESS_LOG
  if (base) {
    const mod = (await import(pathToFileURL(base).href)) as { AccessLineFormat: new () => { line: Line } }
    const b = new mod.AccessLineFormat()
    list.unshift(['baseline-json', (r, t) => b.line(r, t), plain])
  }
  return list
}

function round(line: Line, r: RequestRecord): number {
  let n = 0
  let sink = 0
  const end = performance.now() + ROUND_MS
  while (performance.now() < end) {
    for (let i = 0; i < 1000; i++) sink += line(r, 1795546065391 + i).length
    n += 1000
  }
  if (sink === 0) throw new Error('unreachable')
  return (ROUND_MS * 1e6) / n
}

const list = await scenarios()
const best = new Map<string, number>()
for (let i = 0; i < ROUNDS; i++) {
  for (const [name, line, r] of list) best.set(name, Math.min(best.get(name) ?? Infinity, round(line, r)))
}
console.log('scenario          ns/line  chars')
for (const [name, line, r] of list) console.log(`${name.padEnd(16)} ${best.get(name)!.toFixed(0).padStart(8)}  ${line(r, 1).length}`)
const results = list.map(([name, line, r]) => ({ scenario: name, nsPerLine: Math.round(best.get(name)!), chars: line(r, 1).length }))
const baseNs = best.get('baseline-json')
const ratios = baseNs ? { 'json/baseline-json': Math.round((best.get('json')! / baseNs) * 100) / 100 } : {}
console.log(JSON.stringify({ bench: 'access-log', ...machine(), results, ratios }))
