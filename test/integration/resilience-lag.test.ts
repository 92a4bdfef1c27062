/**
 * Self-awareness through a real Runtime: while commy's own event loop lags, failures do not count
 * against endpoints (no ejection) and latencies are not observed; once it catches up they do.
 */
import t from 'tap'
import http from 'node:http'
import type { LagEvent } from '../../src/resilience/events.js'
import { request, startUpstream } from '../helpers/upstream.js'
import { startRuntime, until } from '../helpers/runtime.js'

t.test('event-loop lag pauses passive ejection and latency penalties', async (t) => {
  const up = await startUpstream('failing', (req: http.IncomingMessage, res: http.ServerResponse) => {
    req.resume()
    res.writeHead(503).end('down')
  })
  const rt = await startRuntime({
    health: { eventLoopLagThreshold: '150ms' },
    listeners: [{ name: 'outbound', listen: '127.0.0.1:0', routes: [{ match: {}, service: 'svc' }] }],
    services: {
      svc: {
        endpoints: [{ address: up.address }],
        breaker: { enabled: false },
        outlierDetection: { consecutiveErrors: 3, baseEjectionTime: '30s', maxEjectionPercent: 100 },
        panicThreshold: 0,
      },
    },
  })
  t.teardown(async () => {
    await rt.stop()
    await up.close()
  })
  const ep = rt.runtime.sidecar.registry.service('svc')!.get(up.address)!
  const lag: LagEvent[] = []
  let during: Promise<number[]> | undefined
  rt.runtime.resilience.on({
    lag: (e) => {
      lag.push(e)
      // right when lagging is detected: five failing requests (each would count otherwise)
      if (e.lagging && during === undefined) during = Promise.all(Array.from({ length: 5 }, () => request(rt.port).then((r) => r.status)))
    },
  })
  // block this process's event loop (commy's own) for 700 ms
  const end = Date.now() + 700
  while (Date.now() < end) {
    // busy
  }
  t.ok(await until(() => lag.some((e) => e.lagging), 3000), 'the lag is detected')
  t.ok(lag[0]!.delayMs > 150, `delay ${Math.round(lag[0]!.delayMs)} ms over the 150 ms threshold`)
  t.same(await during, [503, 503, 503, 503, 503], 'requests still go through while lagging')
  if (rt.runtime.resilience.isLagging()) {
    t.equal(ep.ejectedUntil, 0, 'five failures while lagging do not eject')
    t.equal(ep.latency.peek(), undefined, 'and their latency is not observed')
  } else t.comment('lag cleared before the requests finished: nothing to check for that window')
  t.ok(rt.lines.some((l) => l.level === 40 && typeof l.msg === 'string' && l.msg.startsWith('event loop lagging')), 'logged at warn')

  t.ok(await until(() => !rt.runtime.resilience.isLagging(), 3000), 'the loop catches up')
  for (let i = 0; i < 10 && ep.ejectedUntil === 0; i++) await request(rt.port)
  t.ok(ep.ejectedUntil > 0, 'failures count again: ejected')
  t.ok(ep.latency.peek() !== undefined, 'latency observed again')
})
