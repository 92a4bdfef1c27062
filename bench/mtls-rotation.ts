/**
 * `node dist/bench/mtls-rotation.js`: certificate rotation under load, full size (the suite's
 * test/integration/mesh-security.test.ts runs a ≤ 8 s version). Two commy processes over mTLS
 * (A, the caller `payments`; B, `users`, allow: [payments]) and B's app; autocannon keeps
 * BENCH_CONNECTIONS keep-alive connections busy through A for BENCH_DURATION s (20) while the files
 * on disk change, each step picked up by the file watch (`tls.watch`, the default):
 *
 *   at 1/5:  new leaves for A and B, same CA
 *   at 2/5:  ca.pem = old CA + new CA on both (a bundle)
 *   at 3/5:  leaves signed by the new CA on both
 *   at 4/5:  ca.pem = the new CA only
 *
 * B's inbound closes a connection after BENCH_REQUESTS_PER_SOCKET requests (100), so A keeps
 * opening new mTLS connections all along and every state of the rotation sees fresh handshakes.
 * Target: 0 failed requests. Prints one JSON summary line last.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import http from 'node:http'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createCa, createLeaf } from '../src/tls/pki.js'
import { canPin, listening, load, runLoad, runMain, start, stop } from './lib/harness.js'
import { freePort, logged, meshPki, replaceFile, replaceLeaf, startCommy, tlsYaml, untilEndpoints, writeTls, type CommyProc } from './lib/mesh-nodes.js'
import { machine } from './lib/machine.js'

const HERE = dirname(fileURLToPath(import.meta.url))
const SELF = fileURLToPath(import.meta.url)
const MAIN = join(HERE, '../src/main.js')
const env = process.env
const DURATION = Number(env.BENCH_DURATION ?? 20)
const CONNECTIONS = Number(env.BENCH_CONNECTIONS ?? 10)
const PER_SOCKET = Number(env.BENCH_REQUESTS_PER_SOCKET ?? 100)
const CLUSTER = 'bench'
/** A node's log line when it swapped in changed TLS files (src/tls/store.ts). */
const ROTATED = /^tls: certificates rotated$/

function runUpstream(): void {
  const server = http.createServer((req, res) => {
    req.resume()
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok')
  })
  server.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ listening: (server.address() as { port: number }).port })}\n`))
  process.on('SIGTERM', () => process.exit(0))
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function orchestrate(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'commy-bench-rotation-'))
  const upstream = start([SELF, 'upstream'], 0)
  const nodes: CommyProc[] = []
  try {
    const appPort = await listening(upstream, (v): v is number => typeof v === 'number')
    const pki = await meshPki(CLUSTER, ['payments', 'users'])
    const next = [await createLeaf(pki.ca, { service: 'payments', cluster: CLUSTER }), await createLeaf(pki.ca, { service: 'users', cluster: CLUSTER })]
    const newCa = await createCa({ name: `${CLUSTER} bench CA 2` })
    const fromNew = [await createLeaf(newCa, { service: 'payments', cluster: CLUSTER }), await createLeaf(newCa, { service: 'users', cluster: CLUSTER })]
    const files = [writeTls(dir, 'a', pki.ca.cert, pki.leaves.get('payments')!), writeTls(dir, 'b', pki.ca.cert, pki.leaves.get('users')!)]
    const inbound = await freePort()
    const head = (name: string) =>
      `node: { name: ${name} }\nadmin: { listen: 127.0.0.1:0 }\nlog: { level: info, destination: $LOG, accessLog: false }\n` +
      `listeners:\n  - name: outbound\n    listen: 127.0.0.1:0\n    routes: [{ match: {}, service: users }]\nservices:\n  users: {}\n`
    const b = await startCommy(
      MAIN, dir, 'b',
      `${head('b')}gossip: { listen: 127.0.0.1:0, cluster: ${CLUSTER}, profile: local }\n${tlsYaml(files[1]!)}inbound: { listen: 127.0.0.1:${inbound} }\n` +
        `limits: { maxRequestsPerSocket: ${PER_SOCKET} }\nlocal:\n  services: [{ name: users, address: 127.0.0.1:${appPort}, allow: [payments] }]\n`,
      1, true,
    )
    nodes.push(b)
    const a = await startCommy(MAIN, dir, 'a', `${head('a')}gossip: { listen: 127.0.0.1:0, cluster: ${CLUSTER}, profile: local, seeds: [127.0.0.1:${b.ports.gossip}] }\n${tlsYaml(files[0]!)}`, 1, true)
    nodes.push(a)
    await untilEndpoints(a, 'users', 1)

    const reloads = () => nodes.map((n) => logged(n, ROTATED).length)
    const steps: { at: number; what: string; write: () => void }[] = [
      { at: 0.2, what: 'new leaves, same CA', write: () => files.forEach((f, i) => replaceLeaf(f, next[i]!)) },
      { at: 0.4, what: 'CA bundle old + new', write: () => files.forEach((f) => replaceFile(f.ca, `${pki.ca.cert.trim()}\n${newCa.cert.trim()}\n`)) },
      { at: 0.6, what: 'leaves from the new CA', write: () => files.forEach((f, i) => replaceLeaf(f, fromNew[i]!)) },
      { at: 0.8, what: 'old CA dropped', write: () => files.forEach((f) => replaceFile(f.ca, newCa.cert)) },
    ]
    process.stderr.write(`bench mtls-rotation: ${DURATION}s, ${CONNECTIONS} connections through A → B (mTLS), B renews connections every ${PER_SOCKET} requests${canPin ? ', A and B pinned to cpu1' : ''}\n`)
    const t0 = Date.now()
    const loadDone = load(SELF, `http://127.0.0.1:${a.ports.outbound}/`, DURATION)
    const log: { step: string; atMs: number; reloadsBefore: number[]; reloadsAfter: number[] }[] = []
    for (const s of steps) {
      await sleep(Math.max(0, t0 + s.at * DURATION * 1000 - Date.now()))
      const before = reloads()
      s.write()
      const atMs = Date.now() - t0
      await sleep(1000)
      log.push({ step: s.what, atMs, reloadsBefore: before, reloadsAfter: reloads() })
      process.stderr.write(`  ${String(atMs).padStart(6)} ms  ${s.what}: reload lines A ${before[0]} → ${reloads()[0]}, B ${before[1]} → ${reloads()[1]}\n`)
    }
    const r = await loadDone
    const failed = r.errors + r.non2xx
    const ok = failed === 0 && log.every((l) => l.reloadsAfter.every((n, i) => n > l.reloadsBefore[i]!))
    process.stdout.write(`\n${r.requests} requests in ${DURATION}s (${Math.round(r.rps)} req/s), ${failed} failed; every step reloaded on both nodes: ${log.every((l) => l.reloadsAfter.every((n, i) => n > l.reloadsBefore[i]!))}\ntarget 0 failed requests: ${ok ? 'met' : 'NOT met'}\n\n`)
    process.stdout.write(`${JSON.stringify({ bench: 'mtls-rotation', ...machine(), pinned: canPin, durationS: DURATION, connections: CONNECTIONS, requestsPerSocket: PER_SOCKET, requests: r.requests, rps: Math.round(r.rps), failed, p99Ms: r.p99Ms, steps: log, met: ok })}\n`)
  } finally {
    for (const n of nodes.reverse()) await stop(n.child)
    await stop(upstream)
    rmSync(dir, { recursive: true, force: true })
  }
}

const [role, ...rest] = process.argv.slice(2)
if (role === 'upstream') runUpstream()
else if (role === 'load') void runLoad(rest[0]!, Number(rest[1] ?? DURATION), { connections: CONNECTIONS })
else runMain(orchestrate)
