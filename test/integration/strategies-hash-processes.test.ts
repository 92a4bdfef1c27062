/**
 * Consistent hashing across the mesh: two separate commy processes (the real CLI) with the same
 * endpoints send 10,000 keys each to the same endpoints (the upstreams echo their identity).
 * Needs `npm run build` (npm test does it).
 */
import t from 'tap'
import { startCli, tempFile } from '../helpers/cli.js'
import { startUpstream } from '../helpers/upstream.js'
import { load } from '../helpers/runtime.js'

const KEYS = 10_000

function config(endpoints: string[]): string {
  return `admin: { listen: 127.0.0.1:0 }
log: { level: info, accessLog: false }
health: { eventLoopLagThreshold: 10s }
listeners:
  - name: outbound
    listen: 127.0.0.1:0
    routes:
      - match: {}
        service: carts
services:
  carts:
    strategy: consistent-hash
    hashKey: header:x-cart
    endpoints: [${endpoints.map((a) => `{ address: ${a} }`).join(', ')}]
`
}

t.test('two sidecar processes map 10,000 keys to the same endpoints', async (t) => {
  const ups = await Promise.all(['a', 'b', 'c', 'd', 'e'].map((n) => startUpstream(n)))
  const addresses = ups.map((u) => u.address)
  // the second process lists the endpoints in another order: placement must not depend on it
  const clis = [startCli(['--config', tempFile('one.yaml', config(addresses))]), startCli(['--config', tempFile('two.yaml', config([...addresses].reverse()))])]
  t.teardown(async () => {
    for (const c of clis) c.kill()
    await Promise.all(clis.map((c) => c.exited))
    await Promise.all(ups.map((u) => u.close()))
  })
  const ports = await Promise.all(clis.map(async (c) => Number((await c.waitFor(/"listener":"outbound","address":"127\.0\.0\.1:(\d+)","msg":"listening"/))[1])))
  t.not(clis[0]!.child.pid, clis[1]!.child.pid, 'separate processes')

  const map = async (port: number) => {
    const owner = new Array<string>(KEYS)
    const r = await load({
      port,
      total: KEYS,
      concurrency: 50,
      request: (i) => ({ path: '/cart', headers: { 'x-cart': `cart-${i}` } }),
      onReply: (i, reply) => {
        if (!(reply instanceof Error)) owner[i] = (JSON.parse(reply.body) as { upstream: string }).upstream
      },
    })
    t.equal(r.ok, KEYS, `all ${KEYS} keys answered through :${port}`)
    return owner
  }
  const [one, two] = await Promise.all(ports.map(map))
  const differ = one!.filter((u, i) => u !== two![i]).length
  t.equal(differ, 0, 'every key maps to the same endpoint in both processes')
  const spread = new Map<string, number>()
  for (const u of one!) spread.set(u, (spread.get(u) ?? 0) + 1)
  t.equal(spread.size, 5, `all five endpoints own keys (${JSON.stringify(Object.fromEntries(spread))})`)
  for (const [name, n] of spread) t.ok(n > KEYS * 0.1 && n < KEYS * 0.3, `${name} owns a fair share (${n})`)
})
