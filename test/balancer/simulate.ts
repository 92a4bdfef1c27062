/**
 * A tiny event simulation for load-aware strategies: requests arrive every `intervalMs` on a
 * ManualClock, each pick raises the endpoint's in-flight count, and the response (after the
 * endpoint's latency) lowers it and feeds the peak EWMA, as the request pipeline does.
 */
import type { Balancer } from '../../src/balancer/balancer.js'
import type { Endpoint } from '../../src/endpoint/endpoint.js'
import { ManualClock } from '../../src/clock.js'

export interface SimulationOptions {
  readonly requests: number
  readonly intervalMs: number
  readonly latencyMs: (ep: Endpoint) => number
  readonly clock?: ManualClock
}

export function simulate(balancer: Balancer, candidates: readonly Endpoint[], o: SimulationOptions): Map<string, number> {
  const clock = o.clock ?? new ManualClock(0)
  const counts = new Map<string, number>(candidates.map((ep) => [ep.address, 0]))
  for (let i = 0; i < o.requests; i++) {
    clock.advance(o.intervalMs)
    const ep = balancer.pick(candidates, { now: clock.now(), hashKey: undefined })
    if (!ep) continue
    counts.set(ep.address, counts.get(ep.address)! + 1)
    ep.inFlight++
    const start = clock.now()
    clock.setTimer(() => {
      ep.inFlight--
      ep.latency.observe(clock.now() - start, clock.now())
    }, o.latencyMs(ep))
  }
  clock.advance(60_000) // let everything finish
  return counts
}
