/**
 * Issue 12 acceptance, balancing: one grpc-js client channel (one HTTP/2 connection to commy)
 * makes its unary calls to a service of 3 grpc-js servers; each call is routed and balanced on
 * its own (round robin: a fair share each; latency: calls shift away from a slow server).
 */
import t, { type Test } from 'tap'
import { echoClient, grpc, inFlight, startGrpcServer, unary, type GrpcServer } from '../helpers/grpc.js'
import { startRuntime } from '../helpers/runtime.js'

const NO_LAG = { eventLoopLagThreshold: '10s' }

async function setup(t: Test, strategy: string, servers: GrpcServer[]) {
  const rt = await startRuntime({
    health: NO_LAG,
    log: { accessLog: false },
    listeners: [{ name: 'outbound', listen: '127.0.0.1:0', routes: [{ match: { grpc: { service: 'test.v1.Echo' } }, service: 'echo' }] }],
    services: { echo: { protocol: 'http2', strategy, endpoints: servers.map((s) => ({ address: s.address })) } },
  })
  const client = echoClient(`127.0.0.1:${rt.port}`)
  t.teardown(async () => {
    client.close()
    await rt.stop()
    for (const s of servers) await s.stop()
  })
  return { rt, client }
}

t.test('300 unary calls on one channel to 3 servers: a fair share each under round robin', async (t) => {
  const servers = [await startGrpcServer('a'), await startGrpcServer('b'), await startGrpcServer('c')]
  const { client } = await setup(t, 'round-robin', servers)
  const by = new Map<string, number>()
  // 10 at a time, all on the client's one HTTP/2 connection
  for (let i = 0; i < 300; i += 10) {
    const batch = await Promise.all(Array.from({ length: 10 }, (_, j) => unary(client, String(i + j))))
    for (const r of batch) {
      t.equal(r.code, 0, r.details ?? '')
      const who = r.body!.split(':')[0]!
      by.set(who, (by.get(who) ?? 0) + 1)
    }
  }
  t.same([...by.keys()].sort(), ['a', 'b', 'c'])
  for (const s of servers) t.ok(s.calls >= 90 && s.calls <= 110, `${s.name} got ${s.calls} of 300 (fair: 100)`)
})

t.test('latency strategy: calls shift away from a slow server', async (t) => {
  const servers = [await startGrpcServer('fast1'), await startGrpcServer('fast2'), await startGrpcServer('slow', { kind: 'ok', delayMs: 150 })]
  const { client } = await setup(t, 'latency', servers)
  const results = await inFlight(400, 10, (i) => unary(client, String(i)))
  t.equal(results.filter((r) => r.code !== grpc.status.OK).length, 0, 'every call answered')
  const slow = servers[2]!.calls
  // as for HTTP (test/integration/strategies.test.ts): under 20% where round robin gives a third
  t.ok(slow < 80, `the slow server got ${slow} of 400 (fast: ${servers[0]!.calls}, ${servers[1]!.calls})`)
  t.ok(slow > 0, 'it is still tried now and then')
})
