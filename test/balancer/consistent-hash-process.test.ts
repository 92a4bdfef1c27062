/**
 * The issue asks that two separate sidecar processes map the same keys to the same endpoints.
 * This proves the algorithm is process-independent: two `node` child processes, each inserting
 * the same endpoints in a different order, map 10,000 keys identically (and as this process does).
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { ConsistentHashBalancer } from '../../src/balancer/consistent-hash.js'
import { Endpoint } from '../../src/endpoint/endpoint.js'
import { seededRandom } from '../../src/clock.js'

const fixture = fileURLToPath(new URL('../fixtures/ch-map.ts', import.meta.url))
const tsLoader = new URL('../setup/ts-loader.mjs', import.meta.url).href

interface Mapping {
  pid: number
  order: number[]
  ports: number[]
}

function run(seed: number): Promise<Mapping> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [`--import=${tsLoader}`, fixture, String(seed)], {
      env: { ...process.env, TS_NODE_TRANSPILE_ONLY: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    child.stderr.on('data', (d: Buffer) => (err += d.toString()))
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      if (code !== 0) return reject(new Error(`child exited ${code}: ${err}`))
      try {
        resolve(JSON.parse(out.trim().split('\n').pop()!) as Mapping)
      } catch (e) {
        reject(e)
      }
    })
  })
}

t.test('two node processes map 10,000 keys identically', async (t) => {
  const [a, b] = await Promise.all([run(1), run(2)])
  t.not(a.pid, b.pid, 'separate processes')
  t.notSame(a.order, b.order, 'endpoints inserted in different orders')
  t.equal(a.ports.length, 10_000)
  const differ = a.ports.filter((p, i) => p !== b.ports[i]).length
  t.equal(differ, 0, 'every key maps to the same endpoint')
  t.equal(new Set(a.ports).size, 10, 'all ten endpoints own keys')
  // and this process, inserting in plain port order, agrees as well
  const balancer = new ConsistentHashBalancer({ service: 'svc', random: seededRandom(1), hashBalanceFactor: 0 })
  const eps = [...a.order].sort((x, y) => x - y).map((port) => new Endpoint('svc', { host: '127.0.0.1', port, weight: 1, zone: undefined, tags: [] }, 'static', 10_000))
  const mine = Array.from({ length: 10_000 }, (_, i) => balancer.pick(eps, { now: 0, hashKey: `key-${i}` })!.port)
  t.equal(mine.filter((p, i) => p !== a.ports[i]).length, 0, 'in-process mapping identical')
})
